/* p11check: drives libparsec-pkcs11.so through its C ABI for what the
 * command-line tools cannot: fork, threads, error codes, and a C_Sign
 * benchmark. Built and run by scripts/pkcs11-module-tests.sh.
 *
 *   p11check MODULE errors
 *   p11check MODULE fork LABEL
 *   p11check MODULE sign LABEL
 *   p11check MODULE threads LABEL N
 *   p11check MODULE fork-threads LABEL N FORKS
 *   p11check MODULE bench LABEL SECONDS
 *
 * LABEL is an ECDSA P-256 key's CKA_LABEL. Exit status 0 = pass.
 */
#include <p11-kit-1/p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static CK_FUNCTION_LIST_PTR p;
static const char *label;
static int failures;

#define EXPECT(call, want) expect(#call, (call), (want))
static void expect(const char *what, CK_RV got, CK_RV want)
{
	if (got != want) {
		fprintf(stderr, "FAIL %s: got 0x%lx, want 0x%lx\n", what, got, want);
		failures++;
	}
}

static CK_SLOT_ID first_slot(void)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	EXPECT(p->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	if (n == 0) {
		fprintf(stderr, "FAIL no slot\n");
		exit(1);
	}
	return slots[0];
}

static CK_SESSION_HANDLE open_session(void)
{
	CK_SESSION_HANDLE s = 0;
	EXPECT(p->C_OpenSession(first_slot(), CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
	return s;
}

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE t[] = {
		{CKA_CLASS, &cls, sizeof cls},
		{CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_OBJECT_HANDLE o = 0;
	CK_ULONG n = 0;
	EXPECT(p->C_FindObjectsInit(s, t, 2), CKR_OK);
	EXPECT(p->C_FindObjects(s, &o, 1, &n), CKR_OK);
	EXPECT(p->C_FindObjectsFinal(s), CKR_OK);
	if (n != 1) {
		fprintf(stderr, "FAIL key %s not found\n", label);
		exit(1);
	}
	return o;
}

/* sign_verify signs a digest and verifies it; returns 0 on success. */
static int sign_verify(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	unsigned char digest[32], sig[132];
	CK_ULONG n = sizeof sig;
	CK_RV rv;
	memset(digest, 0x5a, sizeof digest);
	if ((rv = p->C_SignInit(s, &m, priv)) != CKR_OK || (rv = p->C_Sign(s, digest, 32, sig, &n)) != CKR_OK) {
		fprintf(stderr, "sign: 0x%lx\n", rv);
		return 1;
	}
	if (pub == 0)
		return 0;
	if ((rv = p->C_VerifyInit(s, &m, pub)) != CKR_OK || (rv = p->C_Verify(s, digest, 32, sig, n)) != CKR_OK) {
		fprintf(stderr, "verify: 0x%lx\n", rv);
		return 1;
	}
	return 0;
}

static int init(void)
{
	CK_C_INITIALIZE_ARGS a = {0};
	a.flags = CKF_OS_LOCKING_OK;
	return p->C_Initialize(&a) != CKR_OK;
}

static int do_errors(void)
{
	CK_SESSION_HANDLE s;
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0}, aes = {CKM_AES_CBC, NULL, 0}, sha = {CKM_SHA256, NULL, 0};
	CK_OBJECT_HANDLE priv;
	CK_ULONG n = 0;
	unsigned char buf[64] = {0};

	EXPECT(p->C_GetSlotList(CK_TRUE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	EXPECT(p->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	EXPECT(init(), 0);
	EXPECT(p->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	s = open_session();
	priv = find_key(s, CKO_PRIVATE_KEY);
	EXPECT(p->C_Sign(s, buf, 32, buf, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(p->C_SignInit(12345, &m, priv), CKR_SESSION_HANDLE_INVALID);
	EXPECT(p->C_SignInit(s, &m, 987654), CKR_OBJECT_HANDLE_INVALID);
	EXPECT(p->C_SignInit(s, &aes, priv), CKR_MECHANISM_INVALID);
	EXPECT(p->C_SignInit(s, NULL, priv), CKR_ARGUMENTS_BAD);
	EXPECT(p->C_EncryptInit(s, &aes, priv), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(p->C_DigestInit(s, &sha), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(p->C_CreateObject(s, NULL, 0, NULL), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(p->C_WrapKey(s, &m, priv, priv, NULL, &n), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(p->C_SetAttributeValue(s, priv, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(p->C_DestroyObject(s, priv), CKR_SESSION_READ_ONLY);
	/* A digest of a length no hash has: no crash, a PKCS#11 error. */
	EXPECT(p->C_SignInit(s, &m, priv), CKR_OK);
	n = sizeof buf;
	EXPECT(p->C_Sign(s, buf, 33, buf, &n), CKR_DATA_LEN_RANGE);
	/* The sensitive private value is not readable. */
	{
		CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
		EXPECT(p->C_GetAttributeValue(s, priv, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
	}
	/* Length query, then a short buffer, then the signature. */
	EXPECT(p->C_SignInit(s, &m, priv), CKR_OK);
	n = 0;
	EXPECT(p->C_Sign(s, buf, 32, NULL, &n), CKR_OK);
	if (n != 64) {
		fprintf(stderr, "FAIL signature length %lu\n", n);
		failures++;
	}
	n = 10;
	EXPECT(p->C_Sign(s, buf, 32, buf, &n), CKR_BUFFER_TOO_SMALL);
	n = sizeof buf;
	EXPECT(p->C_Sign(s, buf, 32, buf, &n), CKR_OK);
	EXPECT(p->C_CloseSession(s), CKR_OK);
	EXPECT(p->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
	EXPECT(p->C_Finalize(NULL), CKR_OK);
	return failures != 0;
}

static int do_sign(void)
{
	CK_SESSION_HANDLE s;
	if (init())
		return 1;
	s = open_session();
	if (sign_verify(s, find_key(s, CKO_PRIVATE_KEY), find_key(s, CKO_PUBLIC_KEY)))
		return 1;
	return p->C_Finalize(NULL) != CKR_OK || failures;
}

/* child_checks runs in the child of a fork: the inherited handles work
 * (new connections, never the parent's), then C_Initialize starts the
 * module afresh, as PKCS#11 asks of applications after fork. */
static int child_checks(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub)
{
	CK_SESSION_HANDLE s2;
	if (sign_verify(s, priv, pub)) {
		fprintf(stderr, "child: signing with the inherited handles failed\n");
		return 2;
	}
	if (p->C_Initialize(NULL) != CKR_OK) {
		fprintf(stderr, "child: C_Initialize failed\n");
		return 3;
	}
	s2 = open_session();
	if (sign_verify(s2, find_key(s2, CKO_PRIVATE_KEY), find_key(s2, CKO_PUBLIC_KEY))) {
		fprintf(stderr, "child: signing after C_Initialize failed\n");
		return 4;
	}
	if (p->C_Finalize(NULL) != CKR_OK)
		return 5;
	return failures ? 6 : 0;
}

static int wait_child(pid_t pid)
{
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "FAIL child status 0x%x\n", st);
		return 1;
	}
	return 0;
}

static int do_fork(void)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pub;
	pid_t pid;

	if (init())
		return 1;
	s = open_session();
	priv = find_key(s, CKO_PRIVATE_KEY);
	pub = find_key(s, CKO_PUBLIC_KEY);
	if (sign_verify(s, priv, pub))
		return 1;
	pid = fork();
	if (pid == 0)
		_exit(child_checks(s, priv, pub));
	if (wait_child(pid))
		return 1;
	/* A multi-part operation started before fork finishes in the child. */
	{
		CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
		unsigned char sig[132];
		CK_ULONG n = sizeof sig;
		EXPECT(p->C_SignInit(s, &m, priv), CKR_OK);
		EXPECT(p->C_SignUpdate(s, (CK_BYTE_PTR) "hello ", 6), CKR_OK);
		pid = fork();
		if (pid == 0) {
			CK_RV rv;
			if ((rv = p->C_SignUpdate(s, (CK_BYTE_PTR) "world", 5)) != CKR_OK ||
			    (rv = p->C_SignFinal(s, sig, &n)) != CKR_OK) {
				fprintf(stderr, "child: multi-part sign: 0x%lx\n", rv);
				_exit(7);
			}
			_exit(0);
		}
		if (wait_child(pid))
			return 1;
		EXPECT(p->C_SignUpdate(s, (CK_BYTE_PTR) "world", 5), CKR_OK);
		EXPECT(p->C_SignFinal(s, sig, &n), CKR_OK);
	}
	/* The parent carries on with its session. */
	if (sign_verify(s, priv, pub))
		return 1;
	return p->C_Finalize(NULL) != CKR_OK || failures;
}

static volatile int stop_threads;

static void *fork_worker(void *arg)
{
	CK_SESSION_HANDLE s = open_session();
	CK_OBJECT_HANDLE priv = find_key(s, CKO_PRIVATE_KEY), pub = find_key(s, CKO_PUBLIC_KEY);
	long bad = 0;
	(void)arg;
	while (!stop_threads)
		bad += sign_verify(s, priv, pub);
	p->C_CloseSession(s);
	return (void *)bad;
}

/* do_fork_threads: n threads sign and verify while the main thread forks
 * again and again; every child must find the module usable (no lock left
 * held by a thread that does not exist in the child). */
static int do_fork_threads(int n, int forks)
{
	pthread_t t[64];
	long bad = 0;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pub;
	if (n > 64)
		n = 64;
	if (init())
		return 1;
	s = open_session();
	priv = find_key(s, CKO_PRIVATE_KEY);
	pub = find_key(s, CKO_PUBLIC_KEY);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, fork_worker, NULL);
	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(child_checks(s, priv, pub));
		if (wait_child(pid))
			bad++;
	}
	stop_threads = 1;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	return p->C_Finalize(NULL) != CKR_OK || bad || failures;
}

static void *worker(void *arg)
{
	CK_SESSION_HANDLE s = open_session();
	CK_OBJECT_HANDLE priv = find_key(s, CKO_PRIVATE_KEY), pub = find_key(s, CKO_PUBLIC_KEY);
	long bad = 0;
	(void)arg;
	for (int i = 0; i < 20; i++)
		bad += sign_verify(s, priv, pub);
	p->C_CloseSession(s);
	return (void *)bad;
}

static int do_threads(int n)
{
	pthread_t t[64];
	long bad = 0;
	if (n > 64)
		n = 64;
	if (init())
		return 1;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	return p->C_Finalize(NULL) != CKR_OK || bad || failures;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_bench(double seconds)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv;
	long ops = 0;
	double start, end;
	if (init())
		return 1;
	s = open_session();
	priv = find_key(s, CKO_PRIVATE_KEY);
	start = now();
	do {
		if (sign_verify(s, priv, 0))
			return 1;
		ops++;
	} while ((end = now()) - start < seconds);
	printf("module C_SignInit+C_Sign ECDSA P-256: %ld ops in %.2f s, %.0f ns/op\n", ops, end - start,
	       (end - start) * 1e9 / ops);
	return p->C_Finalize(NULL) != CKR_OK;
}

int main(int argc, char **argv)
{
	void *lib;
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	if (argc < 3) {
		fprintf(stderr, "usage: p11check MODULE errors|fork|threads|bench [LABEL [N]]\n");
		return 2;
	}
	if (!(lib = dlopen(argv[1], RTLD_NOW)) || !(get = (CK_RV(*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(lib, "C_GetFunctionList"))) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	EXPECT(get(NULL), CKR_ARGUMENTS_BAD);
	EXPECT(get(&p), CKR_OK);
	label = argc > 3 ? argv[3] : "";
	if (!strcmp(argv[2], "errors"))
		return do_errors();
	if (!strcmp(argv[2], "sign"))
		return do_sign();
	if (!strcmp(argv[2], "fork"))
		return do_fork();
	if (!strcmp(argv[2], "threads") && argc > 4)
		return do_threads(atoi(argv[4]));
	if (!strcmp(argv[2], "fork-threads") && argc > 5)
		return do_fork_threads(atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(argv[2], "bench") && argc > 4)
		return do_bench(atof(argv[4]));
	fprintf(stderr, "unknown mode %s\n", argv[2]);
	return 2;
}
