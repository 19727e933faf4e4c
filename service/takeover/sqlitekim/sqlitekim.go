// Package sqlitekim reads Rust Parsec's SQLite key info manager database.
// It links a SQLite engine (github.com/ncruces/go-sqlite3: SQLite compiled
// to WebAssembly, run by the pure-Go wazero runtime, so no cgo), which is
// why only the parsec-takeover program imports it and the daemon does not.
package sqlitekim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/embed" // the SQLite build itself
	"github.com/tetratelabs/wazero"

	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/takeover"
	"github.com/parsec-go/parsec/wire"
)

// The only versions Rust Parsec 1.x writes; it refuses a database holding
// anything else, and so do we.
const (
	schemaVersion  = 1
	keyIDVersion   = 1
	attrsVersion   = 1
	internalAuthID = 255
	// maxDBSize bounds the copy: a key info database holds a few hundred
	// bytes per key.
	maxDBSize = 256 << 20
)

var useInterpreter sync.Once

// ErrRefused marks a database the Rust service itself would refuse to
// start with; none of its rows can be trusted.
var ErrRefused = errors.New("Rust SQLite key info database refused")

// Read returns every mapping in the database at path. It reads a private
// copy (with any journal or WAL beside it), so the Rust file is never
// opened for writing and a hot journal is replayed only in the copy. A row
// that does not decode is a Record with Err; a database that fails Rust's
// own checks is an ErrRefused error. A missing file is fs.ErrNotExist.
func Read(path string) ([]takeover.Record, error) {
	useInterpreter.Do(func() {
		// wazero's compiler needs memory that is written, then executed:
		// the service unit's MemoryDenyWriteExecute=yes, which the
		// daemon's child inherits, forbids that. The interpreter also
		// starts at once, and a key info database is a few kilobytes.
		sqlite3.RuntimeConfig = wazero.NewRuntimeConfigInterpreter().WithMemoryLimitPages(512)
	})
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "parsec-takeover-sqlite-")
	if err != nil {
		return nil, fmt.Errorf("making a private copy of %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	cp := filepath.Join(tmp, "kim.sqlite3")
	for _, suffix := range []string{"", "-journal", "-wal"} {
		if err := copyFile(path+suffix, cp+suffix); err != nil && !(suffix != "" && errors.Is(err, fs.ErrNotExist)) {
			return nil, fmt.Errorf("making a private copy of %s: %w", path+suffix, err)
		}
	}
	return readCopy(cp, path)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(in, maxDBSize+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxDBSize {
		err = fmt.Errorf("larger than %d bytes", maxDBSize)
	}
	return err
}

func refused(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrRefused, path, fmt.Sprintf(format, args...))
}

func readCopy(cp, path string) ([]takeover.Record, error) {
	db, err := sqlite3.OpenFlags(cp, sqlite3.OPEN_READWRITE)
	if err != nil {
		return nil, refused(path, "%v", err)
	}
	defer db.Close()

	// Rust counts only its own two tables: none means a new, empty store;
	// one of the two is an error.
	tables, err := queryInt(db, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('kim_metadata', 'key_mapping')`)
	if err != nil {
		return nil, refused(path, "%v", err)
	}
	switch tables {
	case 0:
		return nil, nil
	case 2:
	default:
		return nil, refused(path, "only one of the tables kim_metadata and key_mapping exists")
	}
	v, err := queryInt(db, `SELECT int_value FROM kim_metadata WHERE id = 'schema_version'`)
	if err != nil {
		return nil, refused(path, "schema_version: %v", err)
	}
	if v != schemaVersion {
		return nil, refused(path, "schema_version %d (only %d is known)", v, schemaVersion)
	}
	st, _, err := db.Prepare(`SELECT authenticator_id, application_name, key_name, provider_uuid, provider_name,
		key_id, key_id_version, key_attributes, key_attributes_version FROM key_mapping`)
	if err != nil {
		return nil, refused(path, "%v", err)
	}
	defer st.Close()
	var recs []takeover.Record
	for st.Step() {
		r := takeover.Record{
			Source:       fmt.Sprintf("%s row (%d, %q, %q)", path, st.ColumnInt64(0), st.ColumnText(1), st.ColumnText(2)),
			Name:         st.ColumnText(2),
			ProviderName: st.ColumnText(4),
			KeyID:        st.ColumnBlob(5, nil),
		}
		if iv, av := st.ColumnInt64(6), st.ColumnInt64(8); iv != keyIDVersion || av != attrsVersion {
			return nil, refused(path, "%s has key_id_version %d and key_attributes_version %d (only %d is known)", r.Source, iv, av, keyIDVersion)
		}
		auth := st.ColumnInt64(0)
		switch {
		case auth == internalAuthID:
			r.Owner = kim.Owner{AuthType: internalAuthID, App: st.ColumnText(1)}
		case auth >= 0 && auth < 256 && wire.AuthType(auth).Valid():
			r.Owner = kim.Owner{AuthType: wire.AuthType(auth), App: st.ColumnText(1)}
		default:
			r.Err = fmt.Errorf("authenticator_id %d is no authenticator", auth)
		}
		if r.Err == nil {
			id, ok := takeover.ProviderByUUID(st.ColumnText(3))
			if !ok {
				r.Err = fmt.Errorf("provider_uuid %q is no Parsec provider", st.ColumnText(3))
			}
			r.Provider = id
		}
		if r.Err == nil {
			r.Attributes, r.Err = takeover.DecodeAttributes(st.ColumnBlob(7, nil))
		}
		recs = append(recs, r)
	}
	if err := st.Err(); err != nil {
		return nil, refused(path, "reading key_mapping: %v", err)
	}
	takeover.SortRecords(recs)
	return recs, nil
}

func queryInt(db *sqlite3.Conn, q string) (int64, error) {
	st, _, err := db.Prepare(q)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if !st.Step() {
		if err := st.Err(); err != nil {
			return 0, err
		}
		return 0, errors.New("no row")
	}
	return st.ColumnInt64(0), nil
}
