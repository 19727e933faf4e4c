package takeover

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parsec-go/parsec/internal/durable"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// JournalName is the file, in a key manager's Dir(), listing the Rust keys
// already carried over. A key listed there and absent from our store was
// deleted by its client after the switch: a later run (after a crash, a
// retry, or by hand) must not bring it back. Like the marker, its name is
// no padded base64.
const JournalName = ".rust-takeover-carried"

// journal is the set of carried keys, one line each:
// "<auth type> <base64url(app)> <base64url(name)>\n", appended and synced
// before the run goes on; a torn last line (a crash while appending) is
// ignored, and its key is then found present in the store and re-listed.
type journal struct {
	path string
	done map[journalKey]bool
}

type journalKey struct {
	owner kim.Owner
	name  string
}

func openJournal(dir string) (*journal, error) {
	j := &journal{path: filepath.Join(dir, JournalName), done: map[journalKey]bool{}}
	b, err := os.ReadFile(j.path)
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", j.path, err)
	}
	s := bufio.NewScanner(bytes.NewReader(b))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		if k, ok := parseJournalLine(s.Text()); ok {
			j.done[k] = true
		}
	}
	return j, nil
}

func parseJournalLine(line string) (journalKey, bool) {
	f := strings.Split(line, " ")
	if len(f) != 3 {
		return journalKey{}, false
	}
	at, err := strconv.ParseUint(f[0], 10, 8)
	app, err1 := base64.URLEncoding.DecodeString(f[1])
	name, err2 := base64.URLEncoding.DecodeString(f[2])
	if err != nil || err1 != nil || err2 != nil {
		return journalKey{}, false
	}
	return journalKey{kim.Owner{AuthType: wire.AuthType(at), App: string(app)}, string(name)}, true
}

func (j *journal) has(o kim.Owner, name string) bool {
	return j != nil && j.done[journalKey{o, name}]
}

// add records a carried key durably (append, fsync; the directory is
// synced when the file is created).
func (j *journal) add(o kim.Owner, name string) error {
	if j == nil || j.has(o, name) {
		return nil
	}
	_, statErr := os.Stat(j.path)
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%d %s %s\n", uint8(o.AuthType),
		base64.URLEncoding.EncodeToString([]byte(o.App)), base64.URLEncoding.EncodeToString([]byte(name)))
	_, err = f.WriteString(line)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && statErr != nil {
		err = durable.SyncDir(filepath.Dir(j.path))
	}
	if err != nil {
		return fmt.Errorf("recording carried key in %s: %w", j.path, err)
	}
	j.done[journalKey{o, name}] = true
	return nil
}
