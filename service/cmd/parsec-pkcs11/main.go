//go:build cgo

// Command parsec-pkcs11 is the PKCS#11 co-server of the Parsec service: it
// loads the token's PKCS#11 module (the one cgo program of the service, so
// that the daemon stays static) and serves provider 2's operations on a
// private Unix socket to the daemon, which starts and supervises it.
//
// Usage (by the daemon): parsec-pkcs11 -socket PATH, with the token
// options as one JSON object on standard input (so that the PIN is never
// on a command line). "READY" on standard output means the token is open
// and the socket accepts; logs go to standard error, one JSON object a line,
// which the daemon copies into its own log.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/service/provider/pkcs11/link"
	"github.com/parsec-go/parsec/service/provider/pkcs11/token"
)

// options are what the daemon sends on standard input.
type options struct {
	token.Options
	// RequestTimeoutMS bounds each request (reading, waiting for a
	// session, answering); the token call itself cannot be interrupted.
	RequestTimeoutMS int64  `json:"request_timeout_ms,omitempty"`
	LogLevel         string `json:"log_level,omitempty"`
}

func main() {
	socket := flag.String("socket", "", "Unix socket to serve on (created 0600)")
	flag.Parse()
	if err := run(*socket, os.Stdin, os.Stdout, os.Stderr); err != nil {
		b, _ := json.Marshal(map[string]string{"level": "ERROR", "msg": err.Error()})
		fmt.Fprintf(os.Stderr, "%s\n", b)
		os.Exit(1)
	}
}

func run(socket string, in io.Reader, out, errOut io.Writer) error {
	if socket == "" {
		return errors.New("-socket is required")
	}
	var o options
	dec := json.NewDecoder(io.LimitReader(in, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return fmt.Errorf("reading options from standard input: %w", err)
	}
	var lvl slog.Level
	if o.LogLevel != "" {
		if err := lvl.UnmarshalText([]byte(o.LogLevel)); err != nil {
			return fmt.Errorf("log_level: %w", err)
		}
	}
	log := slog.New(slog.NewJSONHandler(errOut, &slog.HandlerOptions{Level: lvl,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the daemon's log has the time
			}
			return a
		}}))
	timeout := time.Duration(o.RequestTimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tok, err := token.Open(o.Options, log)
	if err != nil {
		return err
	}
	defer tok.Close()

	// The socket is the co-server's only gate: owner-only from creation.
	syscall.Umask(0o077)
	if fi, err := os.Lstat(socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(socket)
	}
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", socket, err)
	}
	// The unix listener would remove the path on Close even if a newer
	// co-server (after a config reload) has taken it over: remove it
	// ourselves, and only while it is still ours.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(socket, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("restricting %s: %w", socket, err)
	}
	mine, err := os.Lstat(socket)
	if err != nil {
		ln.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { <-ctx.Done(); ln.Close() }()
	go watchParent(ctx, stop, log)
	fmt.Fprintln(out, "READY")
	log.Info("serving", "socket", socket)

	var wg sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			log.Error("accepting", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if op, err := link.Serve(ctx, c, tok, timeout); err != nil {
				log.Debug("request failed", "op", op, "err", err)
			}
		}()
	}
	wg.Wait()
	if now, err := os.Lstat(socket); err == nil && os.SameFile(now, mine) {
		os.Remove(socket)
	}
	log.Info("stopped")
	return nil
}

// watchParent stops the co-server when the daemon that started it is gone
// (it is then re-parented). The daemon also asks the kernel for SIGTERM on
// its death, but that is tied to the thread that started us.
func watchParent(ctx context.Context, stop func(), log *slog.Logger) {
	parent := os.Getppid()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				log.Warn("the daemon is gone; stopping")
				stop()
				return
			}
		}
	}
}
