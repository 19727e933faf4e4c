package software

import (
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
)

// restrictions: none; the software provider serves every pair PSA's rule
// allows (or answers NotSupported for primitives it lacks).
var restrictions = psa.Restrictions{}

// keyFor looks up an application's key and checks its policy for one
// operation.
func (p *Provider) keyFor(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm) (*key, error) {
	k, err := p.lookup(app, name)
	if err != nil {
		return nil, err
	}
	if err := k.attrs.CheckUse(usage, alg, restrictions); err != nil {
		return nil, err
	}
	return k, nil
}
