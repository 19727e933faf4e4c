package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	sock := filepath.Join(dir, "s")
	cases := []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"-bogus"}, 2},
		{[]string{"-listen", sock, "-connect", sock}, 2},
		{[]string{"-listen", sock, "-fault", "0x0108:explode"}, 2},
		{[]string{"-listen", sock, "-log-level", "loud"}, 2},
		{[]string{"-listen", sock, "extra"}, 2},
		{[]string{"-listen", file}, 1},
		{[]string{"-listen", sock, "-state", file}, 1},
	}
	for _, c := range cases {
		if got := run(c.args); got != c.want {
			t.Errorf("parsec-tsemu %v: exit %d, want %d", c.args, got, c.want)
		}
	}
}

func TestListenReplacesOnlyStaleSockets(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := listenUnix(stale)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l2.Close()
	if _, err := listenUnix(stale); err == nil {
		t.Error("a live socket was taken over")
	}
}
