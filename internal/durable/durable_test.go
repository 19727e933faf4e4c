package durable

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestWriteFileReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"old", "new content"} {
		if err := WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("read %q, %v; want %q", b, err, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file", len(entries))
	}
}

func TestWriteFileFailureKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory in the way makes the rename fail.
	blocked := filepath.Join(dir, "d")
	os.Mkdir(blocked, 0o700)
	os.WriteFile(filepath.Join(blocked, "x"), nil, 0o600)
	if err := WriteFile(blocked, []byte("new"), 0o600); err == nil {
		t.Fatal("rename over a non-empty directory succeeded")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("old file now %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("a temporary file was left: %d entries", len(entries))
	}
}

func TestTempFileInMissingDirFails(t *testing.T) {
	if _, err := TempFile(filepath.Join(t.TempDir(), "missing"), []byte("x"), 0o600); err == nil {
		t.Fatal("no error")
	}
}

func TestRemoveToleratesAbsence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, []byte("x"), 0o600)
	for i := 0; i < 2; i++ {
		if err := Remove(path); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file still there: %v", err)
	}
	if err := Remove(filepath.Join(dir, "missing-dir", "f")); err == nil {
		t.Fatal("syncing a missing directory must fail")
	}
}

// Concurrent callers share runs, and each caller's run starts after its
// call.
func TestGroupSharesRuns(t *testing.T) {
	var mu sync.Mutex
	runs, written, covered := 0, 0, 0
	g := &Group{Sync: func() error {
		mu.Lock()
		runs++
		covered = written
		mu.Unlock()
		time.Sleep(time.Millisecond)
		return nil
	}}
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			written++
			mine := written
			mu.Unlock()
			if err := g.Do(); err != nil {
				t.Error(err)
			}
			mu.Lock()
			if covered < mine {
				t.Errorf("write %d returned before a run covered it (covered %d)", mine, covered)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if runs >= 64 {
		t.Errorf("%d runs for 64 concurrent callers: nothing shared", runs)
	}
}
