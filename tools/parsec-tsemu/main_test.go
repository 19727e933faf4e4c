package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
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

// -connect serves a socket someone else listens on (QEMU's chardev with
// server=on) and dials again when the peer goes.
func TestConnectMode(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "parsec-tsemu")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Skipf("cannot build the command here: %v\n%s", err, out)
	}
	sock := filepath.Join(t.TempDir(), "qemu.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cmd := exec.Command(bin, "-connect", sock, "-log-level", "warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for round := 0; round < 2; round++ {
		l.(*net.UnixListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		b, _ := (&tee.Frame{Seq: 9, Type: tee.MsgHello, Code: tee.EmuProtocolVersion, Arg: tee.HelloArg(0)}).Marshal()
		c.Write(b)
		f, err := tee.NewFrameReader(c).Read()
		if err != nil || f.Errno != 0 || f.Seq != 9 || f.Type != tee.MsgHello|tee.MsgResponse || len(f.Arg) < 4 || f.Arg[0] != 4 {
			t.Fatalf("round %d: hello answer %+v %v", round, f, err)
		}
		c.Close()
	}
}
