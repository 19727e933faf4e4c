package pkcs11

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/service/provider/pkcs11/link"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Restart back-off bounds: a co-server that dies at once is not restarted
// in a tight loop, one that ran for a while comes back quickly.
const (
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 10 * time.Second
	stableAfter = 30 * time.Second
	stopGrace   = 3 * time.Second
)

// coserver starts the parsec-pkcs11 co-server, waits for it to be ready,
// restarts it when it dies and forwards requests to it. While it is down
// requests are answered at once with PsaErrorCommunicationFailure.
type coserver struct {
	exe, socket  string
	opts         []byte // the co-server's options, sent on its stdin
	log          *slog.Logger
	startTimeout time.Duration
	reqTimeout   time.Duration

	mu      sync.Mutex
	up      bool
	downWhy string
	proc    *os.Process

	stop chan struct{}
	done chan struct{}
}

// launch starts the co-server and waits until it is ready. The first start
// must succeed: a token that cannot be opened stops the daemon's start-up
// with the co-server's reason.
func (c *coserver) launch() error {
	p, exited, err := c.start()
	if err != nil {
		return err
	}
	c.setUp(p)
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go c.supervise(exited)
	return nil
}

// start runs one co-server process and waits for its READY line.
func (c *coserver) start() (*os.Process, <-chan error, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, err
	}
	cmd := exec.Command(c.exe, "-socket", c.socket)
	cmd.Stdin = bytes.NewReader(c.opts)
	cmd.Stdout, cmd.Stderr = outW, errW
	// The co-server must not outlive the daemon.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, nil, fmt.Errorf("starting the PKCS#11 co-server %s: %w", c.exe, err)
	}
	last := &lastLines{}
	relayed := make(chan struct{})
	go func() { c.relay(errR, last); close(relayed) }()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		ok := false
		for sc.Scan() {
			if sc.Text() == "READY" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		outR.Close()
	}()
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		<-relayed
		exited <- err
	}()
	t := time.NewTimer(c.startTimeout)
	defer t.Stop()
	select {
	case ok := <-ready:
		if ok {
			return cmd.Process, exited, nil
		}
		err := <-exited
		return nil, nil, fmt.Errorf("the PKCS#11 co-server stopped before it was ready (%v): %s", err, last.String())
	case <-t.C:
		cmd.Process.Kill()
		<-exited
		return nil, nil, fmt.Errorf("the PKCS#11 co-server was not ready after %v: %s", c.startTimeout, last.String())
	}
}

// relay copies the co-server's log lines (JSON objects) into the daemon's
// log at their level, and remembers the last messages for start-up error
// messages.
func (c *coserver) relay(r io.ReadCloser, last *lastLines) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lvl, msg, attrs := parseLogLine(sc.Bytes())
		last.add(msg)
		c.log.Log(context.Background(), lvl, "parsec-pkcs11: "+msg, attrs...)
	}
}

// parseLogLine splits one co-server log line into level, message and
// attributes; a line that is not a JSON object is a message at info level.
func parseLogLine(line []byte) (slog.Level, string, []any) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber() // slot ids are integers, not floats
	if d.Decode(&m) != nil {
		return slog.LevelInfo, string(line), nil
	}
	lvl := slog.LevelInfo
	if s, ok := m["level"].(string); ok {
		lvl.UnmarshalText([]byte(s))
	}
	msg, _ := m["msg"].(string)
	delete(m, "level")
	delete(m, "msg")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var attrs []any
	for _, k := range keys {
		attrs = append(attrs, k, m[k])
	}
	return lvl, msg, attrs
}

// lastLines keeps the co-server's last few log lines.
type lastLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lastLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 4 {
		l.lines = l.lines[1:]
	}
	l.lines = append(l.lines, s)
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return "no output"
	}
	return strings.Join(l.lines, "; ")
}

func (c *coserver) setUp(p *os.Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up, c.proc, c.downWhy = true, p, ""
}

func (c *coserver) setDown(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up, c.proc, c.downWhy = false, nil, why
}

// supervise waits for the co-server to exit and starts it again, with a
// back-off that doubles while restarts fail and resets once it has run
// for a while.
func (c *coserver) supervise(exited <-chan error) {
	defer close(c.done)
	backoff := minBackoff
	since := time.Now()
	for {
		select {
		case err := <-exited:
			c.setDown(fmt.Sprintf("exited: %v", err))
			c.log.Error("the PKCS#11 co-server exited; restarting it", "err", err, "ran", time.Since(since).Round(time.Millisecond))
		case <-c.stop:
			c.terminate(exited)
			return
		}
		if time.Since(since) > stableAfter {
			backoff = minBackoff
		}
		for {
			select {
			case <-time.After(backoff):
			case <-c.stop:
				return
			}
			backoff = min(backoff*2, maxBackoff)
			p, ex, err := c.start()
			if err == nil {
				c.setUp(p)
				exited, since = ex, time.Now()
				c.log.Info("the PKCS#11 co-server is back", "pid", p.Pid)
				break
			}
			c.setDown(err.Error())
			c.log.Error("restarting the PKCS#11 co-server failed; retrying", "err", err, "in", backoff)
		}
	}
}

// terminate stops the running co-server: SIGTERM, then SIGKILL.
func (c *coserver) terminate(exited <-chan error) {
	c.mu.Lock()
	p := c.proc
	c.mu.Unlock()
	if p == nil {
		return
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopGrace):
		p.Kill()
		<-exited
	}
	c.setDown("stopped")
}

// close stops supervising and the co-server.
func (c *coserver) close() {
	if c.stop == nil {
		return
	}
	close(c.stop)
	<-c.done
	c.stop = nil
}

// pid is the running co-server's process id, 0 while it is down.
func (c *coserver) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return 0
	}
	return c.proc.Pid
}

// call forwards one request within the request time-out.
func (c *coserver) call(ctx context.Context, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	c.mu.Lock()
	up, why := c.up, c.downWhy
	c.mu.Unlock()
	if !up {
		return nil, wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "the PKCS#11 co-server is not running (%s); it is being restarted", why)
	}
	ctx, cancel := context.WithTimeout(ctx, c.reqTimeout)
	defer cancel()
	res, err := link.Call(ctx, c.socket, op, req)
	if err != nil && errors.Is(err, wire.StatusPsaErrorCommunicationFailure) {
		c.log.Warn("request to the PKCS#11 co-server failed", "op", op, "err", err)
	}
	return res, err
}
