package main

import (
	"errors"
	"io"
	"log/slog"
	"os/exec"

	"github.com/parsec-go/parsec/internal/companion"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/systemd"
	"github.com/parsec-go/parsec/service/takeover"
)

// takeoverProgram is the program that carries Rust Parsec state over. It
// is separate because it links a SQLite engine the daemon does not need.
const takeoverProgram = "parsec-takeover"

// runTakeover carries over Rust Parsec's state on the first start after an
// upgrade: when a key manager has Rust state and no takeover marker, it
// runs parsec-takeover (found next to our executable first, then on PATH)
// with the same config and working directory, before any key store is
// opened. Whatever happens the service then starts and serves the keys it
// has: a missing program or a failed run is logged at error level, leaves
// no marker, and is retried at the next start; Rust's files are untouched.
func runTakeover(cfg *config.Config, configPath string, out io.Writer, log *slog.Logger) {
	pending, err := takeover.Pending(cfg)
	if err != nil {
		log.Error("looking for Rust Parsec state", "err", err)
	}
	if len(pending) == 0 {
		return
	}
	names := make([]string, len(pending))
	for i, m := range pending {
		names[i] = m.Name
	}
	bin, err := findTakeover()
	if err != nil {
		log.Error("Rust Parsec state found but "+takeoverProgram+" is not installed: its keys are not available; install it beside parsec and restart",
			"key_managers", names, "err", err)
		return
	}
	log.Info("carrying Rust Parsec state over", "key_managers", names, "program", bin)
	// A large store on a slow board may take longer than the unit's
	// start timeout; ask systemd for five more minutes.
	systemd.Notify("EXTEND_TIMEOUT_USEC=300000000")
	cmd := exec.Command(bin, "-c", configPath)
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		log.Info("Rust Parsec state carried over", "key_managers", names)
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		log.Error("some Rust Parsec keys were not carried over (listed above); the others are served", "key_managers", names)
	default:
		log.Error("carrying Rust Parsec state over failed; its keys are not available; retried at the next start", "key_managers", names, "err", err)
	}
}

func findTakeover() (string, error) {
	if p, ok := companion.Beside(takeoverProgram); ok {
		return p, nil
	}
	return exec.LookPath(takeoverProgram)
}
