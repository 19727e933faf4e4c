package tpm

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// busSession protects what crosses the bus between the service and the
// TPM (TPM 2.0 Part 1, "Authorizations" and "Session-based encryption"):
// one salted, unbound HMAC session, kept open across commands. Key
// authorizations are HMACs over the command and the key's name, so auth
// values never travel in clear (and a handle that no longer holds the key
// fails the HMAC); secrets in the first parameter of a command or a
// response (a new key's auth value, decrypted plaintext, random bytes,
// an activated credential) are AES-128-CFB encrypted.
//
// The salt is encrypted to the storage root key, so only this process and
// the TPM know the session key. The TPM forgets the session on restart;
// the device then drops it and starts another.
type busSession struct {
	handle      tpm2.TPMHandle
	sessionKey  []byte
	nonceCaller []byte
	nonceTPM    []byte

	// Per command: the auth value of the entity the session authorizes
	// (nil when it only encrypts), and which way it encrypts.
	auth   []byte
	encIn  bool // the command's first parameter
	encOut bool // the response's first parameter
}

const (
	sessionHash   = crypto.SHA256
	sessionNonce  = 32
	sessionAESKey = 128
)

// sessionSymmetric is the parameter-encryption cipher of the session.
var sessionSymmetric = tpm2.TPMTSymDef{
	Algorithm: tpm2.TPMAlgAES,
	KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(sessionAESKey)),
	Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
}

// startBusSession starts a session salted with the storage root key.
func startBusSession(t transport.TPM, root *loaded, rootPub *tpm2.TPMTPublic) (*busSession, error) {
	kem, err := tpm2.ImportEncapsulationKey(rootPub)
	if err != nil {
		return nil, fmt.Errorf("storage root as salt key: %w", err)
	}
	salt, encSalt, err := tpm2.CreateEncryptedSalt(rand.Reader, kem)
	if err != nil {
		return nil, fmt.Errorf("session salt: %w", err)
	}
	nonce := make([]byte, sessionNonce)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	rsp, err := tpm2.StartAuthSession{
		TPMKey:        tpm2.NamedHandle{Handle: root.handle, Name: root.name},
		Bind:          tpm2.TPMRHNull,
		NonceCaller:   tpm2.TPM2BNonce{Buffer: nonce},
		EncryptedSalt: tpm2.TPM2BEncryptedSecret{Buffer: encSalt},
		SessionType:   tpm2.TPMSEHMAC,
		Symmetric:     sessionSymmetric,
		AuthHash:      tpm2.TPMAlgSHA256,
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("TPM2_StartAuthSession: %w", err)
	}
	return &busSession{
		handle:      tpm2.TPMHandle(rsp.SessionHandle.HandleValue()),
		sessionKey:  tpm2.KDFa(sessionHash, salt, "ATH", rsp.NonceTPM.Buffer, nonce, sessionHash.Size()*8),
		nonceCaller: nonce,
		nonceTPM:    rsp.NonceTPM.Buffer,
	}, nil
}

// use sets up the session for the next command.
func (s *busSession) use(auth []byte, encIn, encOut bool) *busSession {
	s.auth, s.encIn, s.encOut = auth, encIn, encOut
	return s
}

// hmacKey is sessionKey || authValue; the TPM drops trailing zero octets
// of an auth value, so the caller must too.
func (s *busSession) hmacKey() []byte {
	a := s.auth
	for len(a) > 0 && a[len(a)-1] == 0 {
		a = a[:len(a)-1]
	}
	k := make([]byte, 0, len(s.sessionKey)+len(a))
	return append(append(k, s.sessionKey...), a...)
}

func (s *busSession) attrs() tpm2.TPMASession {
	return tpm2.TPMASession{ContinueSession: true, Decrypt: s.encIn, Encrypt: s.encOut}
}

func attrByte(a tpm2.TPMASession) byte {
	var b byte
	if a.ContinueSession {
		b |= 1
	}
	if a.AuditExclusive {
		b |= 2
	}
	if a.AuditReset {
		b |= 4
	}
	if a.Decrypt {
		b |= 0x20
	}
	if a.Encrypt {
		b |= 0x40
	}
	if a.Audit {
		b |= 0x80
	}
	return b
}

func (s *busSession) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.hmacKey())
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Init implements tpm2.Session: the session is started beforehand.
func (s *busSession) Init(transport.TPM) error { return nil }

// CleanupFailure implements tpm2.Session: a failed command leaves the
// session (and its nonceTPM) as it was.
func (s *busSession) CleanupFailure(transport.TPM) error { return nil }

// NonceTPM implements tpm2.Session.
func (s *busSession) NonceTPM() tpm2.TPM2BNonce { return tpm2.TPM2BNonce{Buffer: s.nonceTPM} }

// NewNonceCaller implements tpm2.Session.
func (s *busSession) NewNonceCaller() error {
	n := make([]byte, sessionNonce)
	if _, err := rand.Read(n); err != nil {
		return err
	}
	s.nonceCaller = n
	return nil
}

// Authorize implements tpm2.Session: the command HMAC over
// cpHash = H(commandCode || names || parameters).
func (s *busSession) Authorize(cc tpm2.TPMCC, parms, addNonces []byte, names []tpm2.TPM2BName, _ int) (*tpm2.TPMSAuthCommand, error) {
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, uint32(cc))
	for _, n := range names {
		h.Write(n.Buffer)
	}
	h.Write(parms)
	a := s.attrs()
	return &tpm2.TPMSAuthCommand{
		Handle:        s.handle,
		Nonce:         tpm2.TPM2BNonce{Buffer: s.nonceCaller},
		Attributes:    a,
		Authorization: tpm2.TPM2BData{Buffer: s.mac(h.Sum(nil), s.nonceCaller, s.nonceTPM, addNonces, []byte{attrByte(a)})},
	}, nil
}

// errResponseHMAC: the response was not produced by the TPM holding our
// session (or was altered on the way).
var errResponseHMAC = errors.New("TPM response authorization does not verify")

// Validate implements tpm2.Session: checks the response HMAC over
// rpHash = H(responseCode || commandCode || parameters) and takes the new
// nonceTPM.
func (s *busSession) Validate(rc tpm2.TPMRC, cc tpm2.TPMCC, parms []byte, _ []tpm2.TPM2BName, _ int, auth *tpm2.TPMSAuthResponse) error {
	s.nonceTPM = auth.Nonce.Buffer
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, uint32(rc))
	_ = binary.Write(h, binary.BigEndian, uint32(cc))
	h.Write(parms)
	want := s.mac(h.Sum(nil), s.nonceTPM, s.nonceCaller, []byte{attrByte(auth.Attributes)})
	if !hmac.Equal(want, auth.Authorization.Buffer) {
		return errResponseHMAC
	}
	return nil
}

// IsEncryption implements tpm2.Session.
func (s *busSession) IsEncryption() bool { return s.encOut }

// IsDecryption implements tpm2.Session.
func (s *busSession) IsDecryption() bool { return s.encIn }

// cfb runs AES-CFB with the key and IV derived for one direction.
func (s *busSession) cfb(data, newer, older []byte, encrypt bool) error {
	const keyBytes, blockBytes = sessionAESKey / 8, aes.BlockSize
	kiv := tpm2.KDFa(sessionHash, s.hmacKey(), "CFB", newer, older, (keyBytes+blockBytes)*8)
	block, err := aes.NewCipher(kiv[:keyBytes])
	if err != nil {
		return err
	}
	if encrypt {
		cipher.NewCFBEncrypter(block, kiv[keyBytes:]).XORKeyStream(data, data)
	} else {
		cipher.NewCFBDecrypter(block, kiv[keyBytes:]).XORKeyStream(data, data)
	}
	return nil
}

// Encrypt implements tpm2.Session: the command's first parameter, keyed
// with nonceCaller as the newer nonce.
func (s *busSession) Encrypt(p []byte) error {
	if !s.encIn {
		return nil
	}
	return s.cfb(p, s.nonceCaller, s.nonceTPM, true)
}

// Decrypt implements tpm2.Session: the response's first parameter, keyed
// with the new nonceTPM as the newer nonce.
func (s *busSession) Decrypt(p []byte) error {
	if !s.encOut {
		return nil
	}
	return s.cfb(p, s.nonceTPM, s.nonceCaller, false)
}

// Handle implements tpm2.Session.
func (s *busSession) Handle() tpm2.TPMHandle { return s.handle }
