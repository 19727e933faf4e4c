package main

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

func TestProbeAgainstEmulator(t *testing.T) {
	w, err := emu.New(emu.Options{OPTEE: true})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go w.Serve(l)
	crypto := "d9df52d5-16a2-4bb2-9aa4-d26d3b84e8c0"
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"list", "-emu", sock}, 0},
		{[]string{"version", "-emu", sock, "-dev", "tee1"}, 0},
		{[]string{"open", "-emu", sock, "-dev", "tee1", "-uuid", crypto}, 0},
		{[]string{"open", "-emu", sock, "-dev", "tee2", "-uuid", crypto}, 1}, // ENODEV
		{[]string{"open", "-emu", sock, "-dev", "tee0", "-uuid", crypto}, 1}, // OP-TEE: ret != 0
		{[]string{"invoke", "-emu", sock, "-dev", "tee1", "-uuid", crypto, "-func", "0x10c", "-shm", "4096", "-req", "10000000"}, 0},
		{[]string{"invoke", "-emu", "unix-inline:" + sock, "-dev", "tee1", "-uuid", crypto, "-func", "0x106", "-shm", "64", "-req", "05000000"}, 1}, // DOES_NOT_EXIST
		{[]string{"invoke", "-emu", sock, "-dev", "tee1", "-uuid", crypto, "-func", "0x10c"}, 1},                                                    // no parameter: EINVAL
		{[]string{"open", "-emu", sock, "-dev", "tee1", "-uuid", "nope"}, 2},
		{[]string{"frobnicate", "-emu", sock, "-dev", "tee1"}, 2},
		{[]string{"version", "-dev", filepath.Join(t.TempDir(), "tee0")}, 1},
	}
	for _, c := range cases {
		if got := run(c.args); got != c.want {
			t.Errorf("tee-probe %v: exit %d, want %d", c.args, got, c.want)
		}
	}
}
