package psa

// Deprecated reports whether the attributes name a primitive Parsec
// considers deprecated (weak hashes, DES/ARC4, 160/163-bit curves), which
// key generation refuses unless the service allows deprecated primitives.
func (a Attributes) Deprecated() bool {
	switch a.Type {
	case KeyTypeDES, KeyTypeARC4:
		return true
	}
	if a.Type.IsECC() {
		switch {
		case a.Type.EccFamily() == EccBrainpoolPR1 && a.Bits == 160,
			a.Type.EccFamily() == EccSecpR2 && a.Bits == 160,
			a.Type.EccFamily() == EccSectK1 && a.Bits == 163,
			a.Type.EccFamily() == EccSectR1 && a.Bits == 163,
			a.Type.EccFamily() == EccSectR2 && a.Bits == 163:
			return true
		}
	}
	return a.Alg.Deprecated()
}

// Deprecated reports an algorithm that is, or is parameterised by, a
// deprecated hash (MD2, MD4, MD5, SHA-1).
func (a Algorithm) Deprecated() bool {
	switch a.HashAlg() {
	case AlgMD2, AlgMD4, AlgMD5, AlgSHA1:
		return true
	}
	return false
}
