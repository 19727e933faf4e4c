//go:build cgo

// The C face of libparsec-pkcs11.so: the PKCS#11 function list, the C_*
// entry points and the fork gate. Every implemented call goes to a Go
// function (exports.go); everything else answers CKR_FUNCTION_NOT_SUPPORTED
// here, without entering Go.
//
// Fork: the Go runtime cannot run in the child of a fork(). Only the
// forking thread exists there, while the runtime's scheduler still counts
// on its other threads: a call into Go can wait forever for them (seen in
// testing even for a trivial call). So in a child the module never enters
// Go: C_Initialize fails with CKR_GENERAL_ERROR, every other call answers
// CKR_CRYPTOKI_NOT_INITIALIZED, and nothing hangs or crashes. A child that
// needs the module must exec (a new program loads it afresh). The parent is
// unaffected: each call into Go holds the gate shared and pthread_atfork's
// prepare handler takes it exclusively, so no call is inside Go while the
// process forks.

#include "shim.h"
#include "_cgo_export.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void gate_prepare(void) { pthread_rwlock_wrlock(&gate); }
static void gate_parent(void) { pthread_rwlock_unlock(&gate); }
static volatile int forked;

static void gate_child(void)
{
	/* Only this thread exists in the child: it re-initialises the lock it
	 * holds and marks the module unusable. No call into Go here. */
	pthread_rwlock_init(&gate, NULL);
	forked = 1;
}
static void install_atfork(void) { pthread_atfork(gate_prepare, gate_parent, gate_child); }

#define ENTER() do { pthread_once(&atfork_once, install_atfork); pthread_rwlock_rdlock(&gate); } while (0)

/* FWD_CHILD is what a call answers in the child of a fork. */
#define FWD_CHILD(name) \
	(strcmp(#name, "C_Initialize") == 0 ? child_initialize() : CKR_CRYPTOKI_NOT_INITIALIZED)

static CK_RV child_initialize(void)
{
	static const char msg[] = "libparsec-pkcs11: not usable in the child of a fork(); exec a new program to use it\n";
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* Nothing more to say. */
	}
	return CKR_GENERAL_ERROR;
}
#define LEAVE() pthread_rwlock_unlock(&gate)

/* FWD defines C_name forwarding to goC_name under the gate. */
#define FWD(name, params, args) \
	CK_RV name params \
	{ \
		CK_RV rv; \
		if (forked) \
			return FWD_CHILD(name); \
		ENTER(); \
		rv = go##name args; \
		LEAVE(); \
		return rv; \
	}

/* NS defines C_name answering CKR_FUNCTION_NOT_SUPPORTED. */
#define NS(name, params) \
	CK_RV name params { return CKR_FUNCTION_NOT_SUPPORTED; }

FWD(C_Initialize, (CK_VOID_PTR a), (a))
FWD(C_Finalize, (CK_VOID_PTR r), (r))
FWD(C_GetInfo, (CK_INFO_PTR i), (i))
FWD(C_GetSlotList, (CK_BBOOL p, CK_SLOT_ID_PTR l, CK_ULONG_PTR n), (p, l, n))
FWD(C_GetSlotInfo, (CK_SLOT_ID s, CK_SLOT_INFO_PTR i), (s, i))
FWD(C_GetTokenInfo, (CK_SLOT_ID s, CK_TOKEN_INFO_PTR i), (s, i))
FWD(C_GetMechanismList, (CK_SLOT_ID s, CK_MECHANISM_TYPE_PTR l, CK_ULONG_PTR n), (s, l, n))
FWD(C_GetMechanismInfo, (CK_SLOT_ID s, CK_MECHANISM_TYPE t, CK_MECHANISM_INFO_PTR i), (s, t, i))
NS(C_InitToken, (CK_SLOT_ID s, CK_UTF8CHAR_PTR p, CK_ULONG n, CK_UTF8CHAR_PTR l))
NS(C_InitPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR p, CK_ULONG n))
NS(C_SetPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR o, CK_ULONG on, CK_UTF8CHAR_PTR p, CK_ULONG n))
FWD(C_OpenSession, (CK_SLOT_ID s, CK_FLAGS f, CK_VOID_PTR a, CK_NOTIFY cb, CK_SESSION_HANDLE_PTR h), (s, f, h))
FWD(C_CloseSession, (CK_SESSION_HANDLE h), (h))
FWD(C_CloseAllSessions, (CK_SLOT_ID s), (s))
FWD(C_GetSessionInfo, (CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR i), (h, i))
NS(C_GetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG_PTR n))
NS(C_SetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG n, CK_OBJECT_HANDLE e, CK_OBJECT_HANDLE a))
FWD(C_Login, (CK_SESSION_HANDLE h, CK_USER_TYPE u, CK_UTF8CHAR_PTR p, CK_ULONG n), (h, u))
FWD(C_Logout, (CK_SESSION_HANDLE h), (h))
NS(C_CreateObject, (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR o))
NS(C_CopyObject, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR p))
FWD(C_DestroyObject, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o), (h, o))
NS(C_GetObjectSize, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ULONG_PTR n))
FWD(C_GetAttributeValue, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n), (h, o, t, n))
NS(C_SetAttributeValue, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n))
FWD(C_FindObjectsInit, (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n), (h, t, n))
FWD(C_FindObjects, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR o, CK_ULONG m, CK_ULONG_PTR n), (h, o, m, n))
FWD(C_FindObjectsFinal, (CK_SESSION_HANDLE h), (h))
NS(C_EncryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k))
NS(C_Encrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_EncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_EncryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG_PTR en))
FWD(C_DecryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (h, m, k))
FWD(C_Decrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG en, CK_BYTE_PTR d, CK_ULONG_PTR dn), (h, e, en, d, dn))
NS(C_DecryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG en, CK_BYTE_PTR d, CK_ULONG_PTR dn))
NS(C_DecryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG_PTR dn))
NS(C_DigestInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m))
NS(C_Digest, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn))
NS(C_DigestKey, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k))
NS(C_DigestFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on))
FWD(C_SignInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (h, m, k))
FWD(C_Sign, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR s, CK_ULONG_PTR sn), (h, d, dn, s, sn))
FWD(C_SignUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn), (h, d, dn))
FWD(C_SignFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG_PTR sn), (h, s, sn))
NS(C_SignRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k))
NS(C_SignRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR s, CK_ULONG_PTR sn))
FWD(C_VerifyInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (h, m, k))
FWD(C_Verify, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR s, CK_ULONG sn), (h, d, dn, s, sn))
FWD(C_VerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn), (h, d, dn))
FWD(C_VerifyFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sn), (h, s, sn))
NS(C_VerifyRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k))
NS(C_VerifyRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sn, CK_BYTE_PTR d, CK_ULONG_PTR dn))
NS(C_DigestEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG pn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_DecryptDigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG en, CK_BYTE_PTR p, CK_ULONG_PTR pn))
NS(C_SignEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG pn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG en, CK_BYTE_PTR p, CK_ULONG_PTR pn))
NS(C_GenerateKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
FWD(C_GenerateKeyPair, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt, CK_ULONG pn, CK_ATTRIBUTE_PTR kt, CK_ULONG kn, CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv), (h, m, pt, pn, kt, kn, pub, priv))
NS(C_WrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE w, CK_OBJECT_HANDLE k, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_UnwrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE u, CK_BYTE_PTR w, CK_ULONG wn, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
NS(C_DeriveKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
NS(C_SeedRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG n))
FWD(C_GenerateRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR r, CK_ULONG n), (h, r, n))

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE h) { return CKR_FUNCTION_NOT_PARALLEL; }
CK_RV C_CancelFunction(CK_SESSION_HANDLE h) { return CKR_FUNCTION_NOT_PARALLEL; }
NS(C_WaitForSlotEvent, (CK_FLAGS f, CK_SLOT_ID_PTR s, CK_VOID_PTR r))

static CK_FUNCTION_LIST function_list = {
	{CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
	C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList,
	C_GetSlotInfo, C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo,
	C_InitToken, C_InitPIN, C_SetPIN, C_OpenSession, C_CloseSession,
	C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState,
	C_SetOperationState, C_Login, C_Logout, C_CreateObject, C_CopyObject,
	C_DestroyObject, C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue,
	C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal, C_EncryptInit,
	C_Encrypt, C_EncryptUpdate, C_EncryptFinal, C_DecryptInit, C_Decrypt,
	C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate,
	C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal,
	C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate,
	C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover,
	C_DigestEncryptUpdate, C_DecryptDigestUpdate, C_SignEncryptUpdate,
	C_DecryptVerifyUpdate, C_GenerateKey, C_GenerateKeyPair, C_WrapKey,
	C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,
	C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent,
};

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &function_list;
	return CKR_OK;
}
