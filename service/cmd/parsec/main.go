// Command parsec is the Parsec service: it exposes the platform's root of
// trust through the PSA Crypto API over Parsec's wire protocol on a Unix
// socket. It reads Parsec's config.toml.
//
//	parsec [-c|--config FILE] [--version]
//
// SIGHUP reloads the config in place; SIGTERM and SIGINT drain in-flight
// requests and exit. Under systemd it supports socket activation and
// Type=notify.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/parsec-go/parsec/internal/memtune"
	"github.com/parsec-go/parsec/internal/proctune"
	"github.com/parsec-go/parsec/internal/version"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/service/systemd"
)

// memHeadroom is the heap growth allowed between collections beyond the
// live heap; GOMEMLIMIT in the environment replaces the tuning.
// Measured at 8 signing clients (README, Performance): 2 MiB peaked at
// 10.2-10.5 MB RSS, 1.5 MiB at 9.9-10.1 MB for 0.6 page faults per request
// instead of 0.45 (the runtime returns free pages sooner and faults them
// in again), 1 MiB at 9.7-10.1 MB for 1.1; 512 KiB collects without pause.
// memtune grows it while collections take more than a fifth of the CPU
// (creating keys at 8 clients needs about 4 MiB).
const memHeadroom = 1536 << 10

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: parsec [-c|--config FILE] [--version]\n\nRuns the Parsec service. FILE defaults to config.toml in the working directory.\n")
}

func run(args []string, stderr io.Writer) int {
	configPath := "config.toml"
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-c" || a == "--config":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "parsec: %s needs a file name\n", a)
				return 2
			}
			i++
			configPath = args[i]
		case len(a) > 9 && a[:9] == "--config=":
			configPath = a[9:]
		case a == "--version" || a == "-V":
			fmt.Fprintf(os.Stdout, "parsec %s\n", version.Version)
			return 0
		case a == "-h" || a == "--help":
			usage(os.Stdout)
			return 0
		default:
			fmt.Fprintf(stderr, "parsec: unknown argument %q\n", a)
			usage(stderr)
			return 2
		}
	}

	level := new(slog.LevelVar)
	cfg, warns, cerr := config.Load(configPath)
	log := newLogger(stderr, level, cfg)
	for _, w := range warns {
		log.Warn(string(w), "config", configPath)
	}
	if cerr != nil {
		log.Error("cannot start", "err", fmt.Errorf("%s: %w", configPath, cerr))
		return 1
	}
	// Before any key store is opened: the takeover writes into them.
	runTakeover(cfg, configPath, stderr, log)
	srv, err := server.New(cfg, configPath, providers(), log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	// Peak memory under load: collect when the heap grows a little past
	// what is live, rather than when it doubles (see README, Performance).
	// Started once the key stores are loaded, so that loading them does
	// not collect at every step.
	defer memtune.Start(memHeadroom, os.Getenv).Stop()
	// Processors: one while requests are short, more while the service
	// saturates them and the machine has idle cores (README, Performance).
	procs := proctune.Start(os.Getenv, func(from, to int, self, idle float64) {
		log.Debug("processors changed", "from", from, "to", to, "service_cores", math.Round(self*100)/100, "idle_cores", math.Round(idle*100)/100)
	})
	defer procs.Stop()
	srv.OnServed = procs.Served
	srv.OnConfig = func(c *config.Config) { setLevel(level, c) }
	log.Info("parsec is ready", "version", version.Version, "socket", srv.SocketPath())
	systemd.Notify("READY=1")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				log.Info("reloading configuration")
				if err := srv.Reload(); err != nil {
					log.Error("reload", "err", err)
					if errors.Is(err, server.ErrDown) {
						stop()
						<-done
						return 1
					}
				} else {
					log.Info("configuration reloaded")
				}
				continue
			}
			log.Info("stopping: draining in-flight requests", "signal", sig.String())
			systemd.Notify("STOPPING=1")
			stop()
			if err := <-done; err != nil {
				log.Error("serve", "err", err)
				return 1
			}
			return 0
		case err := <-done:
			if err != nil {
				log.Error("serve", "err", err)
				return 1
			}
			return 0
		}
	}
}

var levels = map[string]slog.Level{
	"error": slog.LevelError, "warn": slog.LevelWarn, "info": slog.LevelInfo,
	"debug": slog.LevelDebug, "trace": slog.LevelDebug - 4,
}

// newLogger logs to w as text, with timestamps only if the config asks
// (journald and syslog add their own). cfg may be nil (unreadable config).
func newLogger(w io.Writer, level *slog.LevelVar, cfg *config.Config) *slog.Logger {
	setLevel(level, cfg)
	opts := &slog.HandlerOptions{Level: level}
	if cfg == nil || !cfg.Core.LogTimestamp {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// setLevel applies the config's log level: info if unset, or if the
// config could not be read (the error is then logged).
func setLevel(level *slog.LevelVar, cfg *config.Config) {
	level.Set(slog.LevelInfo)
	if cfg == nil {
		return
	}
	if l, ok := levels[cfg.Core.LogLevel]; ok {
		level.Set(l)
	}
}
