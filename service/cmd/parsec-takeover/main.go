// Command parsec-takeover carries a Rust Parsec deployment's keys over to
// parsec-go: the mappings of every [[key_manager]] of the config (Rust's
// SQLite database or OnDisk tree) and the Mbed Crypto provider's key files
// (*.psa_its in the working directory). It never changes Rust's files, so
// the Rust service can be started again on them (rollback).
//
//	parsec-takeover [-c FILE] [--dry-run | --report] [--json]
//
// Without a mode it carries over and, per key manager, writes a marker
// when done; the parsec daemon runs it so at start when Rust state exists
// and the marker is missing. --dry-run says what would be carried over and
// what not, writing nothing; --report prints what was carried over (the
// markers). Run it from the directory the Rust service ran in (its
// *.psa_its files), with the service stopped.
//
// Exit status: 0 all carried over; 1 a key manager (or the config) could
// not be read or written; 2 some keys could not be carried over (each is
// logged at error level); 3 --report found no finished takeover.
//
// It is a separate program because it links a SQLite engine (ncruces
// go-sqlite3 on the wazero WebAssembly runtime: pure Go, no cgo, about
// 5 MB), which the daemon should not carry for a one-time job.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/takeover"
	"github.com/parsec-go/parsec/service/takeover/sqlitekim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `usage: parsec-takeover [-c FILE] [--dry-run | --report] [--json]

Carries Rust Parsec's keys (key mappings of every [[key_manager]], and the
Mbed Crypto key files *.psa_its of the working directory) over to parsec-go,
leaving Rust's files as they are. FILE defaults to config.toml.
  --dry-run  say what would be carried over and what not; write nothing
  --report   print what an earlier run carried over
  --json     print the report as JSON
`

func run(args []string, stdout, stderr io.Writer) int {
	configPath := "config.toml"
	dry, report, asJSON := false, false, false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-c" || a == "--config":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "parsec-takeover: %s needs a file name\n", a)
				return 1
			}
			i++
			configPath = args[i]
		case strings.HasPrefix(a, "--config="):
			configPath = strings.TrimPrefix(a, "--config=")
		case a == "--dry-run" || a == "-n":
			dry = true
		case a == "--report":
			report = true
		case a == "--json":
			asJSON = true
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, usageText)
			return 0
		default:
			fmt.Fprintf(stderr, "parsec-takeover: unknown argument %q\n%s", a, usageText)
			return 1
		}
	}
	if dry && report {
		fmt.Fprintf(stderr, "parsec-takeover: --dry-run and --report exclude each other\n")
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // the daemon's log (journald) stamps lines
			}
			return a
		},
	})).With("program", "parsec-takeover")
	cfg, _, err := config.Load(configPath)
	if err != nil {
		log.Error("cannot read the config", "config", configPath, "err", err)
		return 1
	}
	if report {
		return printMarkers(cfg, stdout, asJSON, log)
	}
	wd, err := os.Getwd()
	if err != nil {
		log.Error("working directory", "err", err)
		return 1
	}
	rep := takeover.Run(takeover.Options{
		Config: cfg, WorkDir: wd, Log: log, DryRun: dry, ReadSQLite: sqlitekim.Read,
	})
	if asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printReport(stdout, rep.Managers)
	}
	keys, managers := rep.Failed()
	switch {
	case managers > 0:
		return 1
	case keys > 0:
		return 2
	}
	if !dry && len(rep.Managers) > 0 {
		log.Info("Rust Parsec state carried over", "key_managers", len(rep.Managers))
	}
	return 0
}

func printReport(w io.Writer, ms []takeover.ManagerReport) {
	if len(ms) == 0 {
		fmt.Fprintln(w, "no Rust Parsec state found for any [[key_manager]]")
	}
	for _, m := range ms {
		fmt.Fprintf(w, "key manager %q (%s): Rust state %s -> parsec-go store %s\n", m.Name, m.Type, m.Source, m.Dir)
		if m.Error != "" {
			fmt.Fprintf(w, "  ERROR: %s\n", m.Error)
		}
		for _, k := range m.Keys {
			owner := fmt.Sprintf("auth %d app %q", k.AuthType, k.App)
			if k.AuthType == 255 {
				owner = "internal"
			}
			fmt.Fprintf(w, "  %-12s %s key %q (%v %q)", k.Status, owner, k.Name, k.Provider, k.ProviderName)
			if k.Detail != "" {
				fmt.Fprintf(w, ": %s", k.Detail)
			}
			fmt.Fprintln(w)
		}
		c := m.Counts()
		fmt.Fprintf(w, "  %d keys: %d carried, %d already present, %d would carry, %d not carried\n",
			len(m.Keys), c[takeover.StatusCarried], c[takeover.StatusPresent], c[takeover.StatusWouldCarry], c[takeover.StatusFailed])
	}
}

func printMarkers(cfg *config.Config, w io.Writer, asJSON bool, log *slog.Logger) int {
	var ms []takeover.ManagerReport
	for _, m := range cfg.KeyManagers {
		mr, err := takeover.ReadMarker(m)
		if errors.Is(err, fs.ErrNotExist) {
			if _, ok, _ := takeover.RustState(m); ok {
				fmt.Fprintf(w, "key manager %q: Rust state present, not taken over yet (try --dry-run)\n", m.Name)
			}
			continue
		}
		if err != nil {
			log.Error("reading the takeover marker", "key_manager", m.Name, "err", err)
			return 1
		}
		ms = append(ms, mr)
	}
	if len(ms) == 0 {
		fmt.Fprintln(w, "no finished takeover found")
		return 3
	}
	if asJSON {
		b, _ := json.MarshalIndent(ms, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return 0
	}
	printReport(w, ms)
	return 0
}
