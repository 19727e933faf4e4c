package software

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"

	"golang.org/x/crypto/chacha20"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// Single-part cipher operations as psa_cipher_encrypt/decrypt define
// them: encryption draws a random IV and prepends it to the ciphertext;
// decryption takes it from there. Answered but not advertised, like the
// Rust Mbed Crypto provider, which does not implement them.

// ivSize is PSA_CIPHER_IV_LENGTH for the supported combinations.
func ivSize(t psa.KeyType, alg psa.Algorithm) int {
	switch {
	case t == psa.KeyTypeChaCha20:
		return chacha20.NonceSize
	case alg == psa.AlgECBNoPadding:
		return 0
	}
	return aes.BlockSize
}

func cipherCheck(k *key, alg psa.Algorithm) error {
	switch k.attrs.Type {
	case psa.KeyTypeAES:
		switch alg {
		case psa.AlgCTR, psa.AlgCFB, psa.AlgOFB, psa.AlgECBNoPadding, psa.AlgCBCNoPadding, psa.AlgCBCPKCS7:
			return nil
		}
	case psa.KeyTypeChaCha20:
		if alg == psa.AlgStreamCipher {
			return nil
		}
	}
	return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v with %v keys is not supported", alg, k.attrs.Type)
}

func (p *Provider) cipherEncrypt(_ context.Context, c provider.Call[*pb.CipherEncryptRequest]) (*pb.CipherEncryptResult, error) {
	alg := c.Alg
	k, err := p.keyFor(c.App, c.Req.GetKeyName(), psa.UsageEncrypt, alg)
	if err != nil {
		return nil, err
	}
	pt := c.Req.GetPlaintext()
	if len(pt) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the plaintext is empty")
	}
	if err := cipherCheck(k, alg); err != nil {
		return nil, err
	}
	if (alg == psa.AlgCBCNoPadding || alg == psa.AlgECBNoPadding) && len(pt)%aes.BlockSize != 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v needs whole 16-byte blocks", alg)
	}
	n := ivSize(k.attrs.Type, alg)
	out := make([]byte, n, n+len(pt)+aes.BlockSize)
	if _, err := rand.Read(out); err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "reading random data: %v", err)
	}
	iv := out[:n]
	if k.attrs.Type == psa.KeyTypeChaCha20 {
		ct := make([]byte, len(pt))
		if err := chachaXOR(ct, pt, k.material, iv); err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v", err)
		}
		return &pb.CipherEncryptResult{Ciphertext: append(out, ct...)}, nil
	}
	b, err := aes.NewCipher(k.material)
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "AES key: %v", err)
	}
	if alg == psa.AlgCBCPKCS7 {
		pad := aes.BlockSize - len(pt)%aes.BlockSize
		pt = append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
	}
	ct := make([]byte, len(pt))
	switch alg {
	case psa.AlgCTR:
		cipher.NewCTR(b, iv).XORKeyStream(ct, pt)
	case psa.AlgCFB:
		cipher.NewCFBEncrypter(b, iv).XORKeyStream(ct, pt)
	case psa.AlgOFB:
		cipher.NewOFB(b, iv).XORKeyStream(ct, pt)
	case psa.AlgCBCNoPadding, psa.AlgCBCPKCS7:
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, pt)
	case psa.AlgECBNoPadding:
		for i := 0; i < len(pt); i += aes.BlockSize {
			b.Encrypt(ct[i:], pt[i:])
		}
	}
	return &pb.CipherEncryptResult{Ciphertext: append(out, ct...)}, nil
}

func (p *Provider) cipherDecrypt(_ context.Context, c provider.Call[*pb.CipherDecryptRequest]) (*pb.CipherDecryptResult, error) {
	alg := c.Alg
	k, err := p.keyFor(c.App, c.Req.GetKeyName(), psa.UsageDecrypt, alg)
	if err != nil {
		return nil, err
	}
	in := c.Req.GetCiphertext()
	if len(in) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the ciphertext is empty")
	}
	if err := cipherCheck(k, alg); err != nil {
		return nil, err
	}
	n := ivSize(k.attrs.Type, alg)
	if len(in) < n {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the input is shorter than the %d-byte IV", n)
	}
	iv, ct := in[:n], in[n:]
	if k.attrs.Type == psa.KeyTypeChaCha20 {
		pt := make([]byte, len(ct))
		if err := chachaXOR(pt, ct, k.material, iv); err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v", err)
		}
		return &pb.CipherDecryptResult{Plaintext: pt}, nil
	}
	block := alg == psa.AlgCBCNoPadding || alg == psa.AlgCBCPKCS7 || alg == psa.AlgECBNoPadding
	if block && len(ct)%aes.BlockSize != 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v input must be whole 16-byte blocks", alg)
	}
	if alg == psa.AlgCBCPKCS7 && len(ct) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a padded ciphertext has at least one block")
	}
	b, err := aes.NewCipher(k.material)
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "AES key: %v", err)
	}
	pt := make([]byte, len(ct))
	switch alg {
	case psa.AlgCTR:
		cipher.NewCTR(b, iv).XORKeyStream(pt, ct)
	case psa.AlgCFB:
		cipher.NewCFBDecrypter(b, iv).XORKeyStream(pt, ct)
	case psa.AlgOFB:
		cipher.NewOFB(b, iv).XORKeyStream(pt, ct)
	case psa.AlgCBCNoPadding, psa.AlgCBCPKCS7:
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(pt, ct)
	case psa.AlgECBNoPadding:
		for i := 0; i < len(ct); i += aes.BlockSize {
			b.Decrypt(pt[i:], ct[i:])
		}
	}
	if alg == psa.AlgCBCPKCS7 {
		n, ok := pkcs7Unpad(pt)
		if !ok {
			clear(pt)
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidPadding, "bad PKCS#7 padding")
		}
		pt = pt[:n]
	}
	return &pb.CipherDecryptResult{Plaintext: pt}, nil
}

// pkcs7Unpad checks the padding of a whole last block without branching
// on its bytes and returns the unpadded length.
func pkcs7Unpad(b []byte) (int, bool) {
	last := b[len(b)-aes.BlockSize:]
	pad := int(last[aes.BlockSize-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := 0; i < aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize, i+pad)
		match := subtle.ConstantTimeByteEq(last[i], byte(pad))
		good &= subtle.ConstantTimeSelect(inPad, match, 1)
	}
	return len(b) - pad, good == 1
}

// chachaXOR is PSA's ChaCha20 stream cipher: RFC 8439 with a 96-bit nonce
// and the block counter starting at 0.
func chachaXOR(dst, src, key, nonce []byte) error {
	c, err := chacha20.NewUnauthenticatedCipher(key, nonce)
	if err != nil {
		return err
	}
	c.XORKeyStream(dst, src)
	return nil
}
