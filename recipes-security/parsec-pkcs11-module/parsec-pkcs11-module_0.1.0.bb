SUMMARY = "PKCS#11 module backed by the Parsec service (Go implementation)"
DESCRIPTION = "libparsec-pkcs11.so gives PKCS#11 applications (OpenSSL, \
GnuTLS, p11-kit, curl, wpa_supplicant, ...) the keys the Parsec service \
holds: one token per provider, the calling application's keys as objects. \
A p11-kit module file makes p11-kit-aware applications find it."

require recipes-security/parsec-go/parsec-go.inc

GO_INSTALL = "${GO_IMPORT}/tools/parsec-pkcs11-module"

SRC_URI += "file://parsec.module"

# A cgo build (like the daemon's PKCS#11 co-server): a shared library loaded
# into applications, built with -buildmode=c-shared. Its only C dependency
# is p11-kit's pkcs11.h at build time; it links no p11-kit library.
export CGO_ENABLED = "1"
PARSEC_GO_CGO = "1"
DEPENDS += "p11-kit"
RRECOMMENDS:${PN} = "p11-kit"

# jwt-svid: the module authenticates with a JWT-SVID from the SPIFFE
# Workload API when SPIFFE_ENDPOINT_SOCKET or PARSEC_JWT_SVID_ENDPOINT says
# so, as parsec-tool does (links go-spiffe and gRPC).
PACKAGECONFIG ??= ""
PACKAGECONFIG[jwt-svid] = ",,,"
GOBUILDFLAGS:append = "${@bb.utils.contains('PACKAGECONFIG', 'jwt-svid', ' -tags=parsec_jwtsvid', '', d)}"

# go.bbclass installs programs; a c-shared library is built with go build.
go_do_compile() {
	export TMPDIR="${GOTMPDIR}"
	${GO} build ${GOBUILDFLAGS} -buildmode=c-shared -o ${B}/libparsec-pkcs11.so ${GO_INSTALL}
}

do_install() {
	install -d ${D}${libdir}/pkcs11
	install -m 0755 ${B}/libparsec-pkcs11.so ${D}${libdir}/pkcs11/libparsec-pkcs11.so
	install -d ${D}${datadir}/p11-kit/modules
	install -m 0644 ${PARSEC_UNPACKDIR}/parsec.module ${D}${datadir}/p11-kit/modules/parsec.module
}

# A PKCS#11 module is loaded by path, so it has no soname and no -dev link.
FILES:${PN} = "${libdir}/pkcs11/libparsec-pkcs11.so ${datadir}/p11-kit/modules/parsec.module"
FILES_SOLIBSDEV = ""
INSANE_SKIP:${PN} += "dev-so"
