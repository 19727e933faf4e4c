/* Unit tests of the module's pieces that need no service: SHA-1/SHA-2
 * against the FIPS 180 example vectors, the key-name convention (CKA_ID
 * bytes identical to the Go module's), the generation policies, the
 * protobuf encoding of key attributes, DER helpers, error mapping, the
 * JWT-SVID client's pieces and signature verification (OpenSSL vectors).
 * The module's source is included so that its static functions are
 * reachable. Run by `make check`. */
#include "../src/module.c"

#include <stdio.h>

#include "../src/jwt.h"

static int failures;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #cond); \
			failures++; \
		} \
	} while (0)

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = 0;
}

static void check_sha(enum sha_alg alg, const char *msg, size_t repeat, const char *want)
{
	struct sha_ctx c;
	uint8_t d[SHA_MAX_DIGEST];
	char got[2 * SHA_MAX_DIGEST + 1];
	sha_init(&c, alg);
	for (size_t i = 0; i < repeat; i++)
		sha_update(&c, msg, strlen(msg));
	sha_final(&c, d);
	hex(d, sha_size(alg), got);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "FAIL sha %d of \"%.20s\" x%zu: got %s want %s\n", alg, msg, repeat, got, want);
		failures++;
	}
}

static void test_sha(void)
{
	static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char two512[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	check_sha(SHA_1, "abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	check_sha(SHA_1, two, 1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	check_sha(SHA_1, "", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	check_sha(SHA_224, "abc", 1, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
	check_sha(SHA_224, two, 1, "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525");
	check_sha(SHA_256, "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha(SHA_256, two, 1, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_sha(SHA_256, "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha(SHA_256, "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	check_sha(SHA_384, "abc", 1,
		  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
	check_sha(SHA_384, two512, 1,
		  "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039");
	check_sha(SHA_512, "abc", 1,
		  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	check_sha(SHA_512, two512, 1,
		  "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
	check_sha(SHA_512, "a", 1000000,
		  "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
	/* Every split of a message gives the same digest. */
	for (size_t cut = 0; cut <= sizeof two512 - 1; cut += 7) {
		struct sha_ctx c;
		uint8_t d[64], e[64];
		sha_init(&c, SHA_384);
		sha_update(&c, two512, cut);
		sha_update(&c, two512 + cut, sizeof two512 - 1 - cut);
		sha_final(&c, d);
		sha_digest(SHA_384, two512, sizeof two512 - 1, e);
		CHECK(memcmp(d, e, 48) == 0);
	}
}

static void check_split(const char *name, size_t want_label, const char *want_id)
{
	uint8_t id[256];
	size_t ll, idn;
	char got[513];
	split_name(name, &ll, id, &idn);
	hex(id, idn, got);
	if (ll != want_label || strcmp(got, want_id) != 0) {
		fprintf(stderr, "FAIL split_name(%s) = %zu, %s; want %zu, %s\n", name, ll, got, want_label, want_id);
		failures++;
	}
}

static void check_join(const char *label, const uint8_t *id, size_t n, const char *want)
{
	char *got = join_name(label, id, n);
	if (!got || strcmp(got, want) != 0) {
		fprintf(stderr, "FAIL join_name(%s) = %s, want %s\n", label, got ? got : "(null)", want);
		failures++;
	}
	free(got);
}

static void test_names(void)
{
	/* The derived ids are SHA-256("parsec-pkcs11 key id:" + name)[:16],
	 * the bytes the Go module gave (computed with sha256sum). */
	check_split("k", 1, "8272ec0dce5ade5a05885459bed1b417");
	check_split("ec256", 5, "dcec19bc510839d4ae46d42dff748d67");
	check_split("k#id=01", 1, "01");
	check_split("a#id=zz#id=abcd", 7, "abcd");
	/* Names that only look like the convention keep the derived id. */
	{
		static const char *odd[] = {"x#id=", "x#id=0", "x#id=AB", "x#id=zz"};
		for (size_t i = 0; i < 4; i++) {
			uint8_t id[64];
			size_t ll, idn;
			split_name(odd[i], &ll, id, &idn);
			CHECK(ll == strlen(odd[i]) && idn == ID_LEN);
		}
	}
	{
		static const uint8_t one[] = {1}, abcd[] = {0xab, 0xcd};
		static const uint8_t derived_k[] = {0x82, 0x72, 0xec, 0x0d, 0xce, 0x5a, 0xde, 0x5a,
						    0x05, 0x88, 0x54, 0x59, 0xbe, 0xd1, 0xb4, 0x17};
		check_join("k", one, 1, "k#id=01");
		check_join("k", NULL, 0, "k");
		check_join("k", derived_k, 16, "k");
		check_join("a#id=zz", abcd, 2, "a#id=zz#id=abcd");
	}
}

static void test_policies(void)
{
	static const struct {
		const char *name;
		int rsa, decrypt, sign;
		uint32_t bits;
		CK_MECHANISM_TYPE allowed;
		enum alg_kind kind;
		int hash;
	} cases[] = {
		{"P-256", 0, 0, 0, 256, 0, ALG_ECDSA, HASH_SHA256},
		{"P-384", 0, 0, 0, 384, 0, ALG_ECDSA, HASH_ANY},
		{"P-521", 0, 0, 0, 521, 0, ALG_ECDSA, HASH_ANY},
		{"P-256 any hash", 0, 0, 0, 256, CKM_ECDSA_SHA384, ALG_ECDSA, HASH_ANY},
		{"RSA default", 1, 0, 0, 2048, 0, ALG_RSA_PKCS1V15_SIGN, HASH_ANY},
		{"RSA PSS", 1, 0, 0, 2048, CKM_RSA_PKCS_PSS, ALG_RSA_PSS, HASH_ANY},
		{"RSA decrypt", 1, 1, 0, 2048, 0, ALG_RSA_PKCS1V15_CRYPT, HASH_NONE},
		{"RSA OAEP", 1, 1, 0, 2048, CKM_RSA_PKCS_OAEP, ALG_RSA_OAEP, HASH_SHA256},
		{"RSA sign and decrypt", 1, 1, 1, 2048, 0, ALG_RSA_PKCS1V15_SIGN, HASH_ANY},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gen_request r;
		struct psa_attrs a;
		memset(&r, 0, sizeof r);
		r.rsa = cases[i].rsa;
		r.bits = cases[i].bits;
		r.decrypt = cases[i].decrypt;
		r.sign = r.sign_set = cases[i].sign;
		if (cases[i].allowed)
			r.allowed[r.nallowed++] = cases[i].allowed;
		gen_attrs(&r, &a);
		if (a.alg.kind != cases[i].kind || a.alg.hash != cases[i].hash || (a.usage & U_EXPORT)) {
			fprintf(stderr, "FAIL policy %s: %d/%d usage %x\n", cases[i].name, a.alg.kind, a.alg.hash, a.usage);
			failures++;
		}
	}
}

static void test_attrs_roundtrip(void)
{
	static const struct psa_attrs cases[] = {
		{KT_ECC_PAIR, ECC_SECP_R1, 256, U_SIGN_HASH | U_VERIFY_HASH, {ALG_ECDSA, HASH_SHA256}},
		{KT_ECC_PAIR, ECC_SECP_R1, 384, U_SIGN_HASH | U_EXPORT, {ALG_ECDSA, HASH_ANY}},
		{KT_RSA_PAIR, 0, 4096, U_DECRYPT | U_ENCRYPT, {ALG_RSA_OAEP, HASH_SHA256}},
		{KT_RSA_PAIR, 0, 2048, U_DECRYPT, {ALG_RSA_PKCS1V15_CRYPT, HASH_NONE}},
		{KT_RSA_PUBLIC, 0, 2048, U_VERIFY_HASH, {ALG_RSA_PSS, HASH_ANY}},
		{KT_ECC_PUBLIC, ECC_SECP_K1, 256, U_VERIFY_HASH, {ALG_ECDSA_ANY, HASH_NONE}},
		{KT_RSA_PAIR, 0, 2048, U_SIGN_HASH, {ALG_RSA_PKCS1V15_SIGN_RAW, HASH_NONE}},
		{KT_ECC_PAIR, ECC_SECP_R1, 256, U_SIGN_HASH, {ALG_DET_ECDSA, HASH_SHA512}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b = {0};
		struct pb r;
		struct pb_field f;
		struct psa_attrs got;
		ps_put_attrs(&b, 3, &cases[i]);
		r.p = b.p;
		r.end = b.p + b.n;
		CHECK(pb_next(&r, &f) == 1 && f.num == 3 && f.wt == 2);
		CHECK(ps_parse_attrs(f.sub, &got) == 0);
		if (!attrs_equal(&got, &cases[i])) {
			fprintf(stderr, "FAIL attributes round trip %zu\n", i);
			failures++;
		}
		buf_free(&b);
	}
	/* The P-256 policy encodes as the Go client encodes it (bytes of
	 * psa.AttributesToProto(...).MarshalAppend for the same attributes). */
	{
		struct buf b = {0};
		static const uint8_t want[] = {0x0a, 0x04, 0x5a, 0x02, 0x08, 0x02, 0x10, 0x80, 0x02, 0x1a,
					       0x10, 0x0a, 0x04, 0x40, 0x01, 0x48, 0x01, 0x12, 0x08, 0x32,
					       0x06, 0x22, 0x04, 0x0a, 0x02, 0x10, 0x07};
		ps_put_attrs(&b, 2, &cases[0]);
		/* field 2 tag, length, then the message */
		CHECK(b.n == sizeof want + 2 && memcmp(b.p + 2, want, sizeof want) == 0);
		buf_free(&b);
	}
	/* Malformed input is an error, not a crash. */
	{
		static const uint8_t bad[] = {0x0a, 0x7f, 0x01};
		struct pb r = {bad, bad + sizeof bad};
		struct psa_attrs a;
		CHECK(ps_parse_attrs(r, &a) < 0);
	}
	/* Long nested messages get multi-byte lengths. */
	{
		struct buf b = {0};
		struct pb r;
		struct pb_field f;
		uint8_t big[300];
		size_t mk;
		memset(big, 7, sizeof big);
		mk = pb_begin(&b, 1);
		pb_bytes(&b, 2, big, sizeof big);
		pb_end(&b, mk);
		r.p = b.p;
		r.end = b.p + b.n;
		CHECK(pb_next(&r, &f) == 1 && f.sub.end - f.sub.p == 303 && r.p == r.end);
		buf_free(&b);
	}
}

static void test_der(void)
{
	static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	static const uint8_t p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
	static const uint8_t p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
	static const uint8_t bad1[] = {0x06}, bad2[] = {0x13, 0x0a, 'p'};
	CHECK(curve_bits(p256, sizeof p256) == 256);
	CHECK(curve_bits(p384, sizeof p384) == 384);
	CHECK(curve_bits(p521, sizeof p521) == 521);
	CHECK(curve_bits(bad1, 0) == 0 && curve_bits(bad1, 1) == 0 && curve_bits(bad2, 3) == 0);
	{
		/* SEQUENCE { INTEGER 0x00c5, INTEGER 65537 } */
		static const uint8_t pk[] = {0x30, 0x09, 0x02, 0x02, 0x00, 0xc5, 0x02, 0x03, 0x01, 0x00, 0x01};
		struct der r = {pk, pk + sizeof pk}, seq, x;
		CHECK(der_next(&r, 0x30, &seq) == 0 && der_int(&seq, &x) == 0 && x.end - x.p == 1 && x.p[0] == 0xc5);
		CHECK(der_int(&seq, &x) == 0 && x.end - x.p == 3 && der_int(&seq, &x) < 0);
	}
}

static void test_status(void)
{
	CHECK(status_rv(1149) == CKR_SIGNATURE_INVALID);
	CHECK(status_rv(1133) == CKR_KEY_FUNCTION_NOT_PERMITTED);
	CHECK(status_rv(ST_IO_ERROR) == CKR_DEVICE_ERROR);
	CHECK(status_rv(12345) == CKR_FUNCTION_FAILED);
	CHECK(status_rv(5) == CKR_TOKEN_NOT_PRESENT);
}

static void test_endpoint(void)
{
	struct ps_ep ep;
	CHECK(ps_endpoint(&ep, "unix:/run/x.sock") == 0 && strcmp(ep.path, "/run/x.sock") == 0);
	CHECK(ps_endpoint(&ep, "unix:///run/x.sock") == 0 && strcmp(ep.path, "/run/x.sock") == 0);
	CHECK(ps_endpoint(&ep, "unix:rel.sock") == 0 && strcmp(ep.path, "rel.sock") == 0);
	CHECK(ps_endpoint(&ep, NULL) == 0 && strcmp(ep.path, "/run/parsec/parsec.sock") == 0);
	CHECK(ps_endpoint(&ep, "tcp:1.2.3.4") < 0 && ps_endpoint(&ep, "unix:") < 0);
}

static void test_jwt(void)
{
	struct buf b = {0}, tok = {0};
	/* {"alg":"ES256"}.{"aud":["parsec"],"exp":1765090000,"sub":"spiffe://example.org/a"}.sig */
	static const char jwt[] = "eyJhbGciOiJFUzI1NiJ9.eyJhdWQiOlsicGFyc2VjIl0sImV4cCI6MTc2NTA5MDAwMCwic3ViIjoic3BpZmZlOi8vZXhhbXBsZS5vcmcvYSJ9.c2ln";
	static const uint8_t want_lit[] = {0x00, 0x02, 't', 'e', 0x08, 't', 'r', 'a', 'i', 'l', 'e', 'r', 's'};
	uint8_t msg[256];
	size_t n;
	CHECK(jwt_exp(jwt, strlen(jwt)) == 1765090000);
	CHECK(jwt_exp("a.b", 3) == 0 && jwt_exp("nodots", 6) == 0);
	hpack_literal(&b, "te", "trailers");
	CHECK(b.n == sizeof want_lit && memcmp(b.p, want_lit, b.n) == 0);
	buf_free(&b);
	/* JWTSVIDResponse { svids { spiffe_id: "x" svid: jwt } } in gRPC framing. */
	{
		size_t mk, mk2;
		struct buf m = {0};
		mk = pb_begin(&m, 1);
		pb_bytes(&m, 1, "x", 1);
		pb_bytes(&m, 2, jwt, strlen(jwt));
		pb_end(&m, mk);
		(void)mk2;
		n = 0;
		msg[n++] = 0;
		msg[n++] = 0;
		msg[n++] = 0;
		msg[n++] = (uint8_t)(m.n >> 8);
		msg[n++] = (uint8_t)m.n;
		memcpy(msg + n, m.p, m.n);
		n += m.n;
		buf_free(&m);
	}
	CHECK(grpc_jwt_response(msg, n, &tok) == 0 && tok.n == strlen(jwt) && memcmp(tok.p, jwt, tok.n) == 0);
	CHECK(grpc_jwt_response(msg, 4, &tok) < 0);
	msg[0] = 1; /* compressed: refused */
	CHECK(grpc_jwt_response(msg, n, &tok) < 0);
	buf_free(&tok);
	{
		time_t exp;
		char err[256];
		CHECK(jwt_fetch("unix:///nonexistent/agent.sock", "parsec", "", &tok, &exp, err, sizeof err) < 0 &&
		      strstr(err, "nonexistent") != NULL);
		CHECK(jwt_fetch("tcp://127.0.0.1:1", "parsec", "", &tok, &exp, err, sizeof err) < 0);
	}
}

/* Signatures made by OpenSSL 3.0 (openssl pkeyutl -sign) over "hello world":
 * ECDSA P-384 with SHA-384, RSA-2048 PKCS#1 v1.5 and PSS (salt 32) with
 * SHA-256; the keys' public parts as the service exports them. */
static size_t unhex_buf(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void test_verify(void)
{
	static const char ec_point[] =
	    "040e68107cd929ccf99a4882474873c890fb3c2f50a30777e69a0df1ee897be4dff1b95929f27d0046feb0eb90ab9cc2"
	    "e7438bcbcabf3b1d0a952c8b1de4a6df5348b562bc42158dd0bf6691183281e029aef9ac4d8d66fe656c5331c3c86bcc"
	    "ab";
	static const char ec_digest[] =
	    "fdbd8e75a67f29f701a4e040385e2e23986303ea10239211af907fcbb83578b3e417cb71ce646efd0819dd8c088de1bd";
	static const char ec_sig[] =
	    "f6b4430dceb8938abc6813b85bbb07bdb5b455062a4dd8df54e92599bfc9094f802238865f4f96123154fbdd6b39bb58"
	    "e502a183041a446e3d0cbd3bef037e0d9025d3477b0ddc8f11fc82223faf4cc57b14b8fbe4b55a7e77353db4734dc4fd";
	static const char rsa_pub[] =
	    "3082010a0282010100c71da3f3f6336d9596d03aa5ba9443c7ae4db23fa416315b6f735f86185f1ddbe3b51d2fcdef9f"
	    "cdcfbc77f91408ec3830ad69e2b9327d298b1b2db139be994db4d162433187c3d41d5630ab5ea1f6fa7b2bda4721ea7c"
	    "48c5171d92540634650417d1a1d568c66cd1dee6bec7d6107c9a82092c0bcd3bb2c2e83b6f4ba363ca1e25c080815575"
	    "c1b20958c00fcf18742c58f8debcd6e6171b21f6bdad50820f42a57193e335bc0f4174e0e88e183acd4c6b3fc5c5454f"
	    "faad5a4b909ea4fa054b35d5362ec15b0a33417f57165989ed49cfd60657a532e2df74dc24e61d61e496c89da724743e"
	    "390019a60032ba58dc2009c395b984bb01414a2b14215114ab0203010001";
	static const char rsa_digest[] =
	    "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
	static const char rsa_pkcs1[] =
	    "33da1abccca39b24eb141bf5b8d737b73d96dd550b9c0becd7c79f9a58485d3fdc01a5525b7dde4878cdc4ab6d05f6aa"
	    "f548ad3065b4f04b8061b74fbe91cc43374246a536fd7d346df5ff36a2053f62716f85c6c94a592095c53e781aa75c03"
	    "fb4881c033d802f5c0d53ac5c3c98f63fec3d710aae553b5534667123e915ac2ae984e9e01f2888d874c815dbc0bcb60"
	    "ce4fe08ab8022bb15dfc07f8cbc312b4f002c1ad15ab41d8ef400628485890bfd840b20426a15f32389ea5ec272703ba"
	    "edfb31e6db7d3f9b3eda04a6de9e3518012b98f65cc548c646e71add088947774a3619a21526d8de8a7c180ad6eb05c3"
	    "5a0e0dffadbc97de98dd06f126d9bae3";
	static const char rsa_pss[] =
	    "63658f3e561e95b73a43b7ec68f5d9730fbc3bf691e8c395195c846795c1acbaf335ae0f08905b60ebf918be25bcf036"
	    "8d8600b2e82c4cba647ee321d23a087b4d115723eb824c92fa728887155c6431a9becad4d5b2a881c05473edfb2b13a6"
	    "9f75ee62356765c5980dce4ac27b31ce1bc8caa8554eed6ca40b9636875b6c0c1a714b6172002f590ab4174879427a84"
	    "5b30ef1089d0c7ab68845d07c2a8299749bb22776002d4606aba16a75fcdc52b03f6f18bcfe4c9ce7915e104faaa31e2"
	    "756137b0cf1d765833ff113703fe58541d56b247ef1af3bbb52fc889443fbb74a07191be5f6f99a9d7e2c237bd3153ad"
	    "bdab793440a0db0010e8dfb2513a9b61";
	static uint8_t pt[200], dg[64], sg[600], pub[600];
	size_t ptn = unhex_buf(ec_point, pt), dgn = unhex_buf(ec_digest, dg), sgn = unhex_buf(ec_sig, sg), pubn;
	CHECK(ecdsa_verify(384, pt, ptn, dg, dgn, sg, sgn) == VERIFY_OK);
	sg[3] ^= 1;
	CHECK(ecdsa_verify(384, pt, ptn, dg, dgn, sg, sgn) == VERIFY_BAD);
	sg[3] ^= 1;
	dg[0] ^= 1;
	CHECK(ecdsa_verify(384, pt, ptn, dg, dgn, sg, sgn) == VERIFY_BAD);
	dg[0] ^= 1;
	pt[10] ^= 1; /* off the curve */
	CHECK(ecdsa_verify(384, pt, ptn, dg, dgn, sg, sgn) == VERIFY_KEY);
	pt[10] ^= 1;
	CHECK(ecdsa_verify(256, pt, ptn, dg, dgn, sg, sgn) == VERIFY_KEY);
	memset(sg, 0, sgn); /* r = s = 0 */
	CHECK(ecdsa_verify(384, pt, ptn, dg, dgn, sg, sgn) == VERIFY_BAD);

	pubn = unhex_buf(rsa_pub, pub);
	dgn = unhex_buf(rsa_digest, dg);
	sgn = unhex_buf(rsa_pkcs1, sg);
	CHECK(rsa_pkcs1_verify(pub, pubn, SHA_256, dg, dgn, sg, sgn) == VERIFY_OK);
	CHECK(rsa_pkcs1_verify(pub, pubn, SHA_384, dg, dgn, sg, sgn) == VERIFY_BAD);
	sg[100] ^= 1;
	CHECK(rsa_pkcs1_verify(pub, pubn, SHA_256, dg, dgn, sg, sgn) == VERIFY_BAD);
	CHECK(rsa_pkcs1_verify(pub, pubn, SHA_256, dg, dgn, sg, sgn - 1) == VERIFY_BAD);
	sgn = unhex_buf(rsa_pss, sg);
	CHECK(rsa_pss_verify(pub, pubn, SHA_256, 32, dg, dgn, sg, sgn) == VERIFY_OK);
	CHECK(rsa_pss_verify(pub, pubn, SHA_256, 0, dg, dgn, sg, sgn) == VERIFY_OK);
	CHECK(rsa_pss_verify(pub, pubn, SHA_256, 20, dg, dgn, sg, sgn) == VERIFY_BAD);
	dg[31] ^= 1;
	CHECK(rsa_pss_verify(pub, pubn, SHA_256, 32, dg, dgn, sg, sgn) == VERIFY_BAD);
	CHECK(rsa_pss_verify(pub, 3, SHA_256, 32, dg, dgn, sg, sgn) == VERIFY_KEY);
}

/* Without a service: calls fail cleanly, never crash. */
static void test_no_service(void)
{
	CK_ULONG n = 5;
	CK_SESSION_HANDLE s;
	setenv("PARSEC_SERVICE_ENDPOINT", "unix:/nonexistent/parsec.sock", 1);
	CHECK(C_GetSlotList(CK_TRUE, NULL, &n) == CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK(C_Initialize(NULL) == CKR_OK);
	CHECK(C_GetSlotList(CK_TRUE, NULL, &n) == CKR_OK && n == 0);
	CHECK(C_GetSlotList(CK_TRUE, NULL, NULL) == CKR_ARGUMENTS_BAD);
	CHECK(C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_SLOT_ID_INVALID);
	CHECK(C_Sign(1, NULL, 0, NULL, &n) == CKR_SESSION_HANDLE_INVALID);
	CHECK(C_GetInfo(NULL) == CKR_ARGUMENTS_BAD);
	CHECK(C_Finalize(NULL) == CKR_OK);
}

int main(void)
{
	test_sha();
	test_names();
	test_policies();
	test_attrs_roundtrip();
	test_der();
	test_status();
	test_endpoint();
	test_jwt();
	test_verify();
	test_no_service();
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("unit tests: ok\n");
	return 0;
}
