package tpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/service/provider/tpm/tcti"
)

// The TCTI channels other than swtpm's, each exercised with the real swtpm
// behind it: the Microsoft simulator framing through a translating proxy,
// and the character-device path through a pseudo-terminal.

// mssimProxy speaks the MS simulator protocol on a command port P and a
// platform port P+1, and passes the TPM commands to swtpm.
type mssimProxy struct {
	port     int
	backend  tcti.Transport
	mu       sync.Mutex
	conns    []net.Conn
	lns      []net.Listener
	signals  []uint32
	commands int
}

func startMssimProxy(t *testing.T, backend tcti.Transport) *mssimProxy {
	t.Helper()
	p := &mssimProxy{backend: backend}
	for i := 0; i < 50 && p.lns == nil; i++ {
		cmd, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := cmd.Addr().(*net.TCPAddr).Port
		plat, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		if err != nil {
			cmd.Close()
			continue
		}
		p.port, p.lns = port, []net.Listener{cmd, plat}
	}
	if p.lns == nil {
		t.Fatal("no free port pair for the simulator proxy")
	}
	go p.accept(p.lns[0], p.serveCommands)
	go p.accept(p.lns[1], p.servePlatform)
	t.Cleanup(func() {
		for _, l := range p.lns {
			l.Close()
		}
		p.dropConnections()
	})
	return p
}

func (p *mssimProxy) accept(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		go serve(c)
	}
}

// dropConnections cuts every open connection, as a simulator restart would.
func (p *mssimProxy) dropConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *mssimProxy) servePlatform(c net.Conn) {
	defer c.Close()
	for {
		var sig uint32
		if err := binary.Read(c, binary.BigEndian, &sig); err != nil {
			return
		}
		p.mu.Lock()
		p.signals = append(p.signals, sig)
		p.mu.Unlock()
		if sig == 20 { // session end
			return
		}
		if err := binary.Write(c, binary.BigEndian, uint32(0)); err != nil {
			return
		}
	}
}

func (p *mssimProxy) serveCommands(c net.Conn) {
	defer c.Close()
	for {
		var code uint32
		if err := binary.Read(c, binary.BigEndian, &code); err != nil {
			return
		}
		if code == 20 {
			return
		}
		if code != 8 {
			return // only SEND_COMMAND is expected
		}
		var hdr [5]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		cmd := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
		if _, err := io.ReadFull(c, cmd); err != nil {
			return
		}
		rsp, err := p.backend.Send(cmd)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.commands++
		p.mu.Unlock()
		out := binary.BigEndian.AppendUint32(nil, uint32(len(rsp)))
		out = append(out, rsp...)
		out = binary.BigEndian.AppendUint32(out, 0)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func TestMssimChannel(t *testing.T) {
	e := newEnv(t)
	proxy := startMssimProxy(t, e.tpm.direct(t))
	e.cfg.Tcti = fmt.Sprintf("mssim:host=127.0.0.1,port=%d", proxy.port)
	p := e.open(t)
	if err := generate(t, p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	signAndCheck(t, p, "k")
	proxy.mu.Lock()
	signals, commands := append([]uint32(nil), proxy.signals...), proxy.commands
	proxy.mu.Unlock()
	if len(signals) < 2 || signals[0] != 1 || signals[1] != 11 {
		t.Fatalf("platform signals %v, want power on (1) then NV on (11)", signals)
	}
	if commands == 0 {
		t.Fatal("no command went through the simulator protocol")
	}
	// The simulator drops the connection: the provider reconnects, and
	// its loaded keys (still in the TPM) are checked and kept.
	loadsBefore := p.dev.loads
	proxy.dropConnections()
	signAndCheck(t, p, "k")
	if _, ok := e.log.find("TPM channel lost"); !ok {
		t.Fatal("the lost channel was not logged")
	}
	if p.dev.loads != loadsBefore {
		t.Fatalf("the key was reloaded (%d loads, had %d): surviving handles should be kept", p.dev.loads, loadsBefore)
	}
}

// openPty returns the master side and the path of a raw-mode pseudo
// terminal: a character device, like /dev/tpm0, that we can serve.
func openPty(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	// cfmakeraw: bytes pass unchanged in both directions, no echo.
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return m, path
}

// serveDevice answers TPM commands written to the pty with swtpm's
// responses, as a TPM driver would.
func serveDevice(m *os.File, backend tcti.Transport) {
	for {
		hdr := make([]byte, 10)
		if _, err := io.ReadFull(m, hdr); err != nil {
			return
		}
		cmd := make([]byte, binary.BigEndian.Uint32(hdr[2:6]))
		copy(cmd, hdr)
		if _, err := io.ReadFull(m, cmd[10:]); err != nil {
			return
		}
		rsp, err := backend.Send(cmd)
		if err != nil {
			return
		}
		if _, err := m.Write(rsp); err != nil {
			return
		}
	}
}

func TestDeviceChannel(t *testing.T) {
	e := newEnv(t)
	m, path := openPty(t)
	go serveDevice(m, e.tpm.direct(t))
	e.cfg.Tcti = "device:" + path
	p := e.open(t)
	if p.dev.resourceManaged {
		t.Fatal("a pts device was taken for a resource manager")
	}
	if err := generate(t, p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if err := generate(t, p, alice, "r", rsa2048Crypt); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		signAndCheck(t, p, "k")
		decryptCheck(t, p, "r")
	}
	b, err := random(p, 300)
	if err != nil || len(b) != 300 {
		t.Fatalf("random over the device: %d bytes, %v", len(b), err)
	}
}

func TestDeviceMissing(t *testing.T) {
	e := &env{t: t, kimDir: t.TempDir(), log: &logRecorder{t: t}}
	_, err := e.tryOpen(Config{Tcti: "device:/nonexistent/tpmrm0", SkipIfNoTpm: true})
	if !errors.Is(err, ErrSkipped) {
		t.Fatalf("missing device with skip_if_no_tpm: %v", err)
	}
	_, err = e.tryOpen(Config{Tcti: "device:/nonexistent/tpmrm0"})
	if err == nil || errors.Is(err, ErrSkipped) {
		t.Fatalf("missing device: %v", err)
	}
}
