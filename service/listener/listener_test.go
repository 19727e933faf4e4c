package listener

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/service/config"
)

func open(t *testing.T) *Listener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := Open(config.Listener{SocketPath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dial(t *testing.T, ln *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", ln.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connected returns both ends of a fresh connection; sent is written by
// the client before the service accepts.
func connected(t *testing.T, sent string) (net.Conn, *Conn) {
	t.Helper()
	ln := open(t)
	c := dial(t, ln)
	if sent != "" {
		if _, err := c.Write([]byte(sent)); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	return c, sc
}

func TestRequestAndAnswer(t *testing.T) {
	c, sc := connected(t, "request")
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 7)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "request" {
		t.Fatalf("read %q, %v", buf, err)
	}
	sc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if n, err := sc.Write([]byte("answer")); n != 6 || err != nil {
		t.Fatalf("wrote %d, %v", n, err)
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "answer" {
		t.Fatalf("client read %q, %v", got, err)
	}
	if err := sc.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func TestReadWaitsForLateData(t *testing.T) {
	c, sc := connected(t, "")
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("late"))
		c.Close()
	}()
	got, err := io.ReadAll(sc)
	if err != nil || string(got) != "late" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestReadDeadlineLeavesWriting(t *testing.T) {
	c, sc := connected(t, "par") // part of a request, then silence
	start := time.Now()
	sc.SetReadDeadline(start.Add(50 * time.Millisecond))
	buf := make([]byte, 10)
	n, err := io.ReadFull(sc, buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n != 3 {
		t.Fatalf("read %d, %v; want the 3 bytes sent, then the deadline", n, err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Fatalf("deadline hit after %v", time.Since(start))
	}
	if _, err := sc.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the deadline: %v", err)
	}
	// The answer (Parsec's status 15) still goes out.
	sc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := sc.Write([]byte("status")); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	got, _ := io.ReadAll(c)
	if string(got) != "status" {
		t.Fatalf("client read %q", got)
	}
}

func TestPassedDeadlineFailsAtOnce(t *testing.T) {
	_, sc := connected(t, "")
	sc.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := sc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestWriteDeadlineUnblocksAStuckClient(t *testing.T) {
	_, sc := connected(t, "") // the client never reads
	sc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	big := make([]byte, 16<<20) // far beyond any socket buffer
	n, err := sc.Write(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == len(big) {
		t.Fatalf("wrote %d of %d, %v; want a partial write, then the deadline", n, len(big), err)
	}
}

func TestWriteToAGoneClientIsAnError(t *testing.T) {
	c, sc := connected(t, "")
	c.Close()
	sc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	// No SIGPIPE (the test would die), an EPIPE instead.
	if _, err := sc.Write([]byte("x")); !errors.Is(err, unix.EPIPE) {
		t.Fatalf("got %v", err)
	}
}

func TestPeerCredentials(t *testing.T) {
	_, sc := connected(t, "")
	p, err := sc.PeerCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != uint32(os.Getuid()) || p.GID != uint32(os.Getgid()) || p.PID != int32(os.Getpid()) {
		t.Fatalf("got %+v", p)
	}
}

func TestCloseWakesEveryAccept(t *testing.T) {
	ln := open(t)
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := ln.Accept()
			errs <- err
		}()
	}
	for ln.waiting.Load() < n {
		time.Sleep(time.Millisecond)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("accept returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("an Accept did not return after Close")
		}
	}
	if _, err := ln.Accept(); !errors.Is(err, ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
	// The file stays until Remove: clients must not find the path gone
	// while in-flight requests drain.
	if _, err := os.Stat(ln.Path()); err != nil {
		t.Fatal(err)
	}
	ln.Remove()
	if _, err := os.Stat(ln.Path()); !os.IsNotExist(err) {
		t.Fatalf("socket file after Remove: %v", err)
	}
}

// A socket from systemd stays usable after we close ours: systemd keeps
// its copy to start the service again on the next client.
func TestInheritedSocketSurvivesClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sd.sock")
	orig, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	f, err := orig.File()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := inherit(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ln.Path() != path || ln.created {
		t.Fatalf("path %q created %v", ln.Path(), ln.created)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := ln.Accept(); !errors.Is(err, ErrClosed) {
			t.Errorf("accept: %v", err)
		}
	}()
	for ln.waiting.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	ln.Remove()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("systemd's socket broken by our close: %v", err)
	}
	c.Close()
	// The poke that woke our Accept was taken by it; the client's
	// connection waits for systemd's copy. (Our duplicate made the socket
	// blocking, so this Accept waits in the kernel: it must not find the
	// queue empty.)
	sc, err := orig.Accept()
	if err != nil {
		t.Fatalf("systemd's copy cannot accept: %v", err)
	}
	sc.Close()
}

func TestInheritRefusesOtherSockets(t *testing.T) {
	cases := map[string]func(t *testing.T) *os.File{
		"datagram": func(t *testing.T) *os.File {
			c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(t.TempDir(), "d"), Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			f, _ := c.File()
			return f
		},
		"tcp": func(t *testing.T) *os.File {
			l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			f, _ := l.File()
			return f
		},
		"regular file": func(t *testing.T) *os.File {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			return f
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			f := mk(t)
			defer f.Close()
			if ln, err := inherit(f); err == nil {
				ln.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func TestOpenReplacesStaleSocketAndSetsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run", "parsec.sock")
	mode := uint32(0o660)
	for i := 0; i < 2; i++ { // the second run finds the first one's socket
		ln, err := Open(config.Listener{SocketPath: path, SocketMode: &mode})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o660 {
			t.Fatalf("mode %v, %v", fi.Mode(), err)
		}
		ln.Close()
	}
}

func TestOpenRefusesToReplaceAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parsec.sock")
	os.WriteFile(path, []byte("precious"), 0o600)
	if _, err := Open(config.Listener{SocketPath: path}); err == nil {
		t.Fatal("opened over a regular file")
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, []byte("precious")) {
		t.Fatal("the file was changed")
	}
}

// A second service on the same path refuses to start while the first one
// listens, instead of taking its socket over; once the first is gone its
// stale socket is replaced (issue 15, item 7).
func TestOpenRefusesALiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parsec.sock")
	first, err := Open(config.Listener{SocketPath: path})
	if err != nil {
		t.Fatal(err)
	}
	fi1, _ := os.Stat(path)
	_, err = Open(config.Listener{SocketPath: path})
	if err == nil || !strings.Contains(err.Error(), "another service is listening on "+path) {
		t.Fatalf("second Open on a live socket: %v", err)
	}
	if fi2, err := os.Stat(path); err != nil || !os.SameFile(fi1, fi2) {
		t.Fatalf("the live socket was replaced or removed (%v)", err)
	}
	// The first service still answers.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the first service is unreachable: %v", err)
	}
	c.Close()
	// Closed without removing its file: what a killed service leaves.
	first.Close()
	second, err := Open(config.Listener{SocketPath: path})
	if err != nil {
		t.Fatalf("Open over a stale socket: %v", err)
	}
	second.Close()
	second.Remove()
}
