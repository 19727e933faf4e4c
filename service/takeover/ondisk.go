package takeover

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// Rust's OnDisk key info manager (1.x) keeps, under store_path,
//
//	<b64(app name)>/<provider id>/<b64(key name)>    client keys
//	parsec/<b64(provider short name + key name)>     internal keys (1.4+)
//
// with b64 the URL-safe alphabet with padding; each file is bincode of
// KeyInfo. The authenticator is not stored: keys belong to the configured
// one. parsec-go's own OnDisk layout (numeric auth-type directories) can
// share the root; its names never decode as Rust's.
var rustB64 = base64.URLEncoding

// maxKeyFile bounds one OnDisk record (a TPM RSA key is under 600 bytes).
const maxKeyFile = 64 << 10

// ReadOnDisk reads every Rust mapping under root. authType is the
// configured authenticator's. A file or directory that does not decode is a
// Record with Err; a missing root is an error. Nothing is written.
func ReadOnDisk(root string, authType wire.AuthType) ([]Record, error) {
	apps, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading Rust OnDisk store: %w", err)
	}
	var recs []Record
	for _, a := range apps {
		p := filepath.Join(root, a.Name())
		if a.Name() == "parsec" && a.IsDir() {
			recs = append(recs, readInternal(p)...)
			continue
		}
		app, ok := rustName(a.Name())
		if !ok || !a.IsDir() {
			continue // not Rust's (parsec-go's own store, or stray files)
		}
		provs, err := os.ReadDir(p)
		if err != nil {
			recs = append(recs, Record{Source: p, Owner: kim.Owner{AuthType: authType, App: app}, Err: err})
			continue
		}
		for _, pd := range provs {
			pp := filepath.Join(p, pd.Name())
			id, err := strconv.ParseUint(pd.Name(), 10, 8)
			if err != nil || !pd.IsDir() || !wire.ProviderID(id).Valid() {
				recs = append(recs, Record{Source: pp, Owner: kim.Owner{AuthType: authType, App: app},
					Err: fmt.Errorf("not a provider id directory")})
				continue
			}
			keys, err := os.ReadDir(pp)
			if err != nil {
				recs = append(recs, Record{Source: pp, Owner: kim.Owner{AuthType: authType, App: app}, Err: err})
				continue
			}
			for _, k := range keys {
				r := Record{Source: filepath.Join(pp, k.Name()), Owner: kim.Owner{AuthType: authType, App: app},
					Provider: wire.ProviderID(id)}
				name, ok := rustName(k.Name())
				if !ok {
					r.Err = fmt.Errorf("file name is not URL-safe base64 of a key name")
				} else {
					r.Name = name
					r.KeyID, r.Attributes, r.Err = readKeyFile(r.Source)
				}
				recs = append(recs, r)
			}
		}
	}
	SortRecords(recs)
	return recs, nil
}

func readInternal(dir string) []Record {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return []Record{{Source: dir, Owner: kim.InternalOwner, Err: err}}
	}
	var recs []Record
	for _, e := range ents {
		r := Record{Source: filepath.Join(dir, e.Name()), Owner: kim.InternalOwner}
		full, ok := rustName(e.Name())
		if !ok {
			r.Err = fmt.Errorf("file name is not URL-safe base64")
			recs = append(recs, r)
			continue
		}
		r.Err = fmt.Errorf("internal key %q names no known provider", full)
		for _, p := range internalPrefixes {
			if name, ok := strings.CutPrefix(full, p.prefix); ok && name != "" {
				r.Provider, r.Name, r.Err = p.id, name, nil
				break
			}
		}
		if r.Err == nil {
			r.KeyID, r.Attributes, r.Err = readKeyFile(r.Source)
		}
		recs = append(recs, r)
	}
	return recs
}

// rustName decodes a Rust OnDisk file name. Rust's names are padded
// base64url, so their length is a multiple of 4; parsec-go's own
// directories ("3", "1") never are.
func rustName(s string) (string, bool) {
	if s == "" || len(s)%4 != 0 {
		return "", false
	}
	b, err := rustB64.DecodeString(s)
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

func readKeyFile(path string) ([]byte, psa.Attributes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, psa.Attributes{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, psa.Attributes{}, err
	}
	if !st.Mode().IsRegular() {
		return nil, psa.Attributes{}, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, psa.Attributes{}, err
	}
	if len(b) > maxKeyFile {
		return nil, psa.Attributes{}, fmt.Errorf("larger than %d bytes", maxKeyFile)
	}
	return DecodeKeyInfo(b)
}

// SortRecords orders records by owner, name and source, for stable reports.
func SortRecords(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if a.Owner.AuthType != b.Owner.AuthType {
			return a.Owner.AuthType < b.Owner.AuthType
		}
		if a.Owner.App != b.Owner.App {
			return a.Owner.App < b.Owner.App
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Source < b.Source
	})
}

// isNotExist reports a missing file or directory.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
