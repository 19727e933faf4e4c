package auth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/parsec-go/parsec/wire"
)

// Set is the configured authenticators, in config order: the request
// header's auth type picks one, and ListAuthenticators reports them in
// this order (clients take the first they can use).
type Set struct {
	list []Authenticator
}

// NewSet builds one authenticator per spec. Two specs of the same auth
// type are refused: the header could not tell them apart.
func NewSet(specs []Spec, log *slog.Logger) (*Set, error) {
	s := &Set{}
	seen := map[wire.AuthType]bool{}
	for _, spec := range specs {
		a, err := New(spec, log)
		if err != nil {
			s.Close()
			return nil, err
		}
		if seen[a.Type()] {
			s.Close()
			closeAuth(a)
			return nil, fmt.Errorf("authenticator %s is configured twice", spec.AuthType)
		}
		seen[a.Type()] = true
		s.list = append(s.list, a)
	}
	if len(s.list) == 0 {
		return nil, errors.New("no authenticator configured")
	}
	return s, nil
}

// Lookup returns the authenticator for a request's auth type.
func (s *Set) Lookup(t wire.AuthType) (Authenticator, bool) {
	for _, a := range s.list {
		if a.Type() == t {
			return a, true
		}
	}
	return nil, false
}

// List returns the authenticators in config order.
func (s *Set) List() []Authenticator { return s.list }

// Close releases what the authenticators hold (a config reload builds a
// new Set and closes the old one).
func (s *Set) Close() error {
	var errs []error
	for _, a := range s.list {
		errs = append(errs, closeAuth(a))
	}
	return errors.Join(errs...)
}

func closeAuth(a Authenticator) error {
	if c, ok := a.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
