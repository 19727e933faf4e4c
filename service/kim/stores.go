package kim

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
)

// Stores keeps OnDisk stores open by directory across config reloads: two
// instances over the same log would be two writers, so a reload gets the
// instance it already has (with the new config's quota).
type Stores struct {
	mu   sync.Mutex
	open map[string]*OnDisk
}

// Open returns the store of dir, opening it on first use.
func (s *Stores) Open(dir string, maxKeysPerClient int, log *slog.Logger) (*OnDisk, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("key info manager: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.open[abs]; ok {
		m.SetQuota(maxKeysPerClient)
		return m, nil
	}
	m, err := Open(dir, Options{Log: log, MaxKeysPerClient: maxKeysPerClient})
	if err != nil {
		return nil, err
	}
	if s.open == nil {
		s.open = map[string]*OnDisk{}
	}
	s.open[abs] = m
	return m, nil
}

// Close closes every store, after the mutations already submitted.
func (s *Stores) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for dir, m := range s.open {
		if err := m.Close(); err != nil && first == nil {
			first = err
		}
		delete(s.open, dir)
	}
	return first
}
