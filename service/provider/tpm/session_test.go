package tpm

import (
	"bytes"
	"sync"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider/tpm/tcti"
)

// busRecorder keeps every byte exchanged with the TPM, as a probe on the
// bus would.
type busRecorder struct {
	inner tcti.Transport
	mu    sync.Mutex
	cmds  [][]byte
	rsps  [][]byte
}

func (r *busRecorder) Send(b []byte) ([]byte, error) {
	rsp, err := r.inner.Send(b)
	r.mu.Lock()
	r.cmds = append(r.cmds, append([]byte(nil), b...))
	r.rsps = append(r.rsps, append([]byte(nil), rsp...))
	r.mu.Unlock()
	return rsp, err
}

func (r *busRecorder) Close() error { return r.inner.Close() }

func (r *busRecorder) seen(secret []byte) (inCommand, inResponse bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cmds {
		inCommand = inCommand || bytes.Contains(c, secret)
	}
	for _, c := range r.rsps {
		inResponse = inResponse || bytes.Contains(c, secret)
	}
	return
}

func tap(p *Provider) *busRecorder {
	p.dev.mu.Lock()
	defer p.dev.mu.Unlock()
	r := &busRecorder{inner: p.dev.t}
	p.dev.t = r
	return r
}

// TestBusCarriesNoSecrets: with the bus session, neither key auth values
// nor decrypted plaintext, random bytes or activated credentials appear
// on the wire. The same run without sessions shows them, so the probe
// would notice.
func TestBusCarriesNoSecrets(t *testing.T) {
	for _, sessions := range []bool{true, false} {
		name := "with-session"
		if !sessions {
			name = "passwords"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.p.dev.mu.Lock()
			e.p.dev.noSessions = !sessions
			e.p.dev.mu.Unlock()
			bus := tap(e.p)
			if err := generate(t, e.p, alice, "sig", eccP256Sign); err != nil {
				t.Fatal(err)
			}
			if err := generate(t, e.p, alice, "dec", rsa2048Crypt); err != nil {
				t.Fatal(err)
			}
			signAndCheck(t, e.p, "sig")
			msg := []byte("the plaintext must stay off the bus")
			ct, err := encrypt(t, e.p, alice, "dec", psa.AlgRSAPKCS1v15Crypt, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := decrypt(t, e.p, alice, "dec", psa.AlgRSAPKCS1v15Crypt, ct, nil); err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("decrypt: %q %v", pt, err)
			}
			rnd, err := random(e.p, 64)
			if err != nil {
				t.Fatal(err)
			}
			out, err := prepare(e.p, alice, "sig", "")
			if err != nil {
				t.Fatal(err)
			}
			secret := []byte("activated credential value 1234")
			blob, enc := makeCredential(t, verifierEK(t, out.GetAttestingKeyPub()), out.GetName(), secret)
			if got, err := attest(e.p, alice, "sig", blob, enc); err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("attest: %q %v", got, err)
			}

			leaks := map[string]bool{}
			for _, k := range []string{"sig", "dec"} {
				ent, _ := e.p.keys.Manager().Get(kim.OwnerOf(alice), k)
				b, _ := decodeBlob(ent.KeyID)
				if c, _ := bus.seen(b.auth); c {
					leaks["auth value of "+k] = true
				}
			}
			for what, v := range map[string][]byte{"plaintext": msg, "random bytes": rnd, "credential": secret} {
				if _, r := bus.seen(v); r {
					leaks[what] = true
				}
			}
			if sessions && len(leaks) != 0 {
				t.Fatalf("seen on the bus: %v", leaks)
			}
			if !sessions && len(leaks) != 5 {
				t.Fatalf("without sessions the probe should see all 5 secrets, saw %v", leaks)
			}
		})
	}
}
