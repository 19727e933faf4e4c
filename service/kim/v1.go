package kim

// The v1 layout (main before the log store): one JSON file per key,
//
//	<root>/<auth type>/<base64url(application)>/<base64url(key name)>
//
// written atomically with a temp file and rename. It is only read now: at
// the first start of the log store its mappings are copied into the log,
// and once the log is durable the v1 files are removed.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// fileVersion is bumped if the record format changes incompatibly.
const fileVersion = 1

// record is the on-disk form of one mapping.
type record struct {
	Version      int    `json:"version"`
	Name         string `json:"name"`
	Provider     uint8  `json:"provider"`
	ProviderName string `json:"provider_name"`
	KeyID        []byte `json:"key_id"`
	Type         uint16 `json:"type"`
	Bits         uint32 `json:"bits"`
	Usage        uint32 `json:"usage"`
	Alg          uint32 `json:"alg"`
}

// maxEncodedName keeps file names under the 255-byte limit of common file
// systems; longer key names are stored under a hash of the name.
const maxEncodedName = 200

// v1File is one mapping file of the v1 layout.
type v1File struct {
	path  string
	owner Owner
	name  string
	entry Entry
	err   error // unreadable, or its name does not match its file
}

// scanV1 lists the v1 layout under root: mappings, unreadable files and
// cut-short temporary files. Directories that are not numeric (Rust's
// OnDisk store may share the root) are not ours and are skipped.
func scanV1(root string) (files []v1File, temps []string, dirs []string, err error) {
	authDirs, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("key info manager: reading %s: %w", root, err)
	}
	for _, ad := range authDirs {
		at, err := strconv.ParseUint(ad.Name(), 10, 8)
		if err != nil || !ad.IsDir() {
			continue // not ours
		}
		authDir := filepath.Join(root, ad.Name())
		appDirs, err := os.ReadDir(authDir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("key info manager: %w", err)
		}
		for _, pd := range appDirs {
			app, err := base64.URLEncoding.DecodeString(pd.Name())
			if err != nil || !pd.IsDir() {
				continue
			}
			owner := Owner{AuthType: wire.AuthType(at), App: string(app)}
			dir := filepath.Join(authDir, pd.Name())
			ents, err := os.ReadDir(dir)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("key info manager: %w", err)
			}
			for _, f := range ents {
				p := filepath.Join(dir, f.Name())
				if strings.HasPrefix(f.Name(), ".tmp-") {
					temps = append(temps, p)
					continue
				}
				if !f.Type().IsRegular() {
					continue
				}
				v := v1File{path: p, owner: owner}
				v.name, v.entry, v.err = readRecord(p)
				if v.err == nil && fileName(v.name) != f.Name() {
					v.err = fmt.Errorf("its name %q does not match the file", v.name)
				}
				files = append(files, v)
			}
			dirs = append(dirs, dir)
		}
		dirs = append(dirs, authDir)
	}
	return files, temps, dirs, nil
}

// removeV1 deletes what the log now holds: readable mappings and
// temporary files. Unreadable files stay (nothing is deleted that was not
// carried over) and keep their directories. Called only once the log is
// durable, so a crash half-way leaves files the next start removes again.
func removeV1(root string, log *slog.Logger) error {
	files, temps, dirs, err := scanV1(root)
	if err != nil {
		return err
	}
	kept := 0
	for _, f := range files {
		if f.err != nil {
			kept++
			log.Warn("key info manager: unreadable v1 mapping left in place", "file", f.path, "err", f.err)
			continue
		}
		if err := os.Remove(f.path); err != nil {
			return fmt.Errorf("key info manager: removing migrated %s: %w", f.path, err)
		}
	}
	for _, t := range temps {
		os.Remove(t)
	}
	for _, d := range dirs {
		os.Remove(d) // only empty ones go
	}
	if len(files)+len(temps) > 0 {
		log.Info("key info manager: removed the v1 mapping files now held by the log", "files", len(files)-kept, "temporary", len(temps), "kept", kept, "dir", root)
	}
	return nil
}

func readRecord(p string) (string, Entry, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", Entry{}, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return "", Entry{}, err
	}
	if r.Version != fileVersion {
		return "", Entry{}, fmt.Errorf("record version %d, want %d", r.Version, fileVersion)
	}
	return r.Name, Entry{
		Provider:     wire.ProviderID(r.Provider),
		ProviderName: r.ProviderName,
		KeyID:        r.KeyID,
		Attributes:   psa.Attributes{Type: psa.KeyType(r.Type), Bits: r.Bits, Usage: psa.Usage(r.Usage), Alg: psa.Algorithm(r.Alg)},
	}, nil
}

// emptyName stands for the empty key name, which Parsec allows; it cannot
// collide with an encoded name (those have a length divisible by 4) or a
// hashed one ("h-" and 64 hex digits).
const emptyName = "_empty"

func fileName(keyName string) string {
	if keyName == "" {
		return emptyName
	}
	enc := base64.URLEncoding.EncodeToString([]byte(keyName))
	if len(enc) <= maxEncodedName {
		return enc
	}
	sum := sha256.Sum256([]byte(keyName))
	return "h-" + hex.EncodeToString(sum[:])
}
