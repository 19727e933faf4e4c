package takeover

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/parsec-go/parsec/internal/durable"
	"github.com/parsec-go/parsec/internal/statedir"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// MarkerName is the file, in a key manager's Dir(), that records a
// finished takeover (and its report). Its name is no padded base64, so
// Rust's OnDisk manager never takes it for one of its own.
const MarkerName = ".rust-takeover"

// MarkerPath returns m's marker file.
func MarkerPath(m config.KeyManager) string { return filepath.Join(m.Dir(), MarkerName) }

// RustState returns where Rust Parsec kept m's mappings and whether
// anything is there: the SQLite database file, or, for OnDisk, a Rust
// application directory or the parsec/ directory of internal keys under
// store_path.
func RustState(m config.KeyManager) (string, bool, error) {
	switch m.ManagerType {
	case "SQLite":
		p := m.DBPath()
		_, err := os.Stat(p)
		if isNotExist(err) {
			return p, false, nil
		}
		return p, err == nil, err
	case "OnDisk":
		p := m.Dir()
		ents, err := os.ReadDir(p)
		if isNotExist(err) {
			return p, false, nil
		}
		if err != nil {
			return p, false, err
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			if _, ok := rustName(e.Name()); ok || e.Name() == "parsec" {
				return p, true, nil
			}
		}
		return p, false, nil
	}
	return "", false, fmt.Errorf("key manager %q: unknown manager_type %q", m.Name, m.ManagerType)
}

// Pending returns the key managers whose Rust state exists and has no
// takeover marker: what the daemon runs parsec-takeover for at start.
func Pending(cfg *config.Config) ([]config.KeyManager, error) {
	var out []config.KeyManager
	var errs []error
	for _, m := range cfg.KeyManagers {
		_, ok, err := RustState(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		if _, err := os.Stat(MarkerPath(m)); isNotExist(err) {
			out = append(out, m)
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// Options configure Run.
type Options struct {
	Config  *config.Config
	WorkDir string
	Log     *slog.Logger
	DryRun  bool
	// ReadSQLite reads a Rust SQLite database (package sqlitekim; injected
	// so that only parsec-takeover links SQLite).
	ReadSQLite func(path string) ([]Record, error)
	// OpenKIM opens parsec-go's store in dir; default kim.OpenOnDisk.
	OpenKIM func(dir string, log *slog.Logger) (kim.Manager, error)
}

// Report is one run over every key manager of a config.
type Report struct {
	Time     string          `json:"time"`
	DryRun   bool            `json:"dry_run,omitempty"`
	WorkDir  string          `json:"working_directory"`
	Managers []ManagerReport `json:"key_managers"`
}

// Failed counts the keys not carried over, and managers that failed.
func (r *Report) Failed() (keys, managers int) {
	for _, m := range r.Managers {
		if m.Error != "" {
			managers++
		}
		keys += m.Counts()[StatusFailed]
	}
	return keys, managers
}

// authTypes maps the config's auth_type to the number Rust stores.
var authTypes = map[string]wire.AuthType{
	config.AuthDirect: wire.AuthDirect, config.AuthUnixPeerCredentials: wire.AuthUnixPeerCredentials,
	config.AuthJwtSvid: wire.AuthJwtSvid,
}

// Run carries over the Rust state of every key manager that has some. A
// manager whose run is complete gets its marker, written last and
// durably; a run cut short anywhere is completed by the next one.
func Run(o Options) Report {
	rep := Report{Time: time.Now().UTC().Format(time.RFC3339), DryRun: o.DryRun, WorkDir: o.WorkDir}
	if o.OpenKIM == nil {
		o.OpenKIM = func(dir string, log *slog.Logger) (kim.Manager, error) { return kim.OpenOnDisk(dir, log) }
	}
	for _, m := range o.Config.KeyManagers {
		src, ok, err := RustState(m)
		mr := ManagerReport{Name: m.Name, Type: m.ManagerType, Source: src, Dir: m.Dir(), Keys: []Outcome{}}
		if err != nil {
			mr.Error = err.Error()
		} else if !ok {
			continue
		} else {
			runManager(o, m, &mr)
		}
		if mr.Error != "" {
			o.Log.Error("Rust key store not carried over", "key_manager", m.Name, "rust_state", src, "err", mr.Error)
		}
		rep.Managers = append(rep.Managers, mr)
	}
	return rep
}

func runManager(o Options, m config.KeyManager, mr *ManagerReport) {
	var recs []Record
	var err error
	switch m.ManagerType {
	case "SQLite":
		if o.ReadSQLite == nil {
			err = errors.New("this program cannot read SQLite")
		} else {
			recs, err = o.ReadSQLite(mr.Source)
		}
	case "OnDisk":
		at, ok := authTypes[o.Config.Authenticator.AuthType]
		if !ok {
			err = fmt.Errorf("auth_type %q has no Parsec number", o.Config.Authenticator.AuthType)
		} else {
			recs, err = ReadOnDisk(mr.Source, at)
		}
	}
	if err != nil {
		mr.Error = fmt.Sprintf("reading Rust's store: %v", err)
		return
	}
	if len(recs) == 0 {
		o.Log.Warn("Rust key store holds no keys", "key_manager", m.Name, "rust_state", mr.Source)
	}
	env := Env{Config: o.Config, WorkDir: o.WorkDir, Log: o.Log, DryRun: o.DryRun}
	if !o.DryRun || ourStoreExists(mr.Dir) {
		// A dry run creates nothing, so it opens the store only if present.
		// Whoever can write the store can use any client's keys: the same
		// check as the daemon's.
		if err := statedir.Check(mr.Dir); err != nil {
			mr.Error = err.Error()
			return
		}
		k, err := o.OpenKIM(mr.Dir, o.Log)
		if err != nil {
			mr.Error = fmt.Sprintf("opening parsec-go's store: %v", err)
			return
		}
		env.KIM = k
		if c, ok := k.(interface{ Close() error }); ok {
			defer c.Close()
		}
	}
	if env.KIM != nil {
		j, err := openJournal(mr.Dir)
		if err != nil {
			mr.Error = err.Error()
			return
		}
		env.carried = j
	}
	mr.Keys = Carry(env, m, recs)
	if o.DryRun || !mr.Complete() {
		return
	}
	b, err := json.MarshalIndent(mr, "", "  ")
	if err == nil {
		err = durable.WriteFile(filepath.Join(mr.Dir, MarkerName), append(b, '\n'), 0o600)
	}
	if err != nil {
		mr.Error = fmt.Sprintf("writing the takeover marker: %v", err)
	}
}

// ReadMarker returns the report a finished takeover of m left.
func ReadMarker(m config.KeyManager) (ManagerReport, error) {
	var mr ManagerReport
	b, err := os.ReadFile(MarkerPath(m))
	if err != nil {
		return mr, err
	}
	if err := json.Unmarshal(b, &mr); err != nil {
		return mr, fmt.Errorf("%s: %w", MarkerPath(m), err)
	}
	return mr, nil
}

// ourStoreExists reports whether dir holds anything of parsec-go's; for
// OnDisk, dir is Rust's store_path too, and Rust's own entries do not count.
func ourStoreExists(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if _, rust := rustName(e.Name()); rust || e.Name() == "parsec" {
			continue
		}
		return true
	}
	return false
}
