SUMMARY = "PKCS#11 module backed by the Parsec service"
DESCRIPTION = "libparsec-pkcs11.so gives PKCS#11 applications (OpenSSL, \
GnuTLS, p11-kit, curl, wpa_supplicant, nginx, ...) the keys the Parsec \
service holds: one token per provider, the calling application's keys as \
objects. Plain C over libc, fork-safe; a p11-kit module file makes \
p11-kit-aware applications find it."
HOMEPAGE = "https://github.com/parsec-go/parsec"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"

# Same epoch as the Go recipes (parsec-go.inc), and as this recipe had when
# the module was built with cgo, so feeds do not see a downgrade.
PE = "1"

# The sources are the checkout this layer lives in: the module's directory
# (a Makefile and C files) and the repository's licence.
PARSEC_TOPDIR = "${@os.path.normpath(os.path.join(d.getVar('FILE_DIRNAME'), '..', '..'))}"
FILESEXTRAPATHS:prepend := "${PARSEC_TOPDIR}/tools:${PARSEC_TOPDIR}:"
SRC_URI = " \
    file://parsec-pkcs11-module/Makefile \
    file://parsec-pkcs11-module/src \
    file://LICENSE;subdir=parsec-pkcs11-module \
    file://parsec.module \
"
# scarthgap has no UNPACKDIR and unpacks into WORKDIR.
PARSEC_UNPACKDIR = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
S = "${PARSEC_UNPACKDIR}/parsec-pkcs11-module"

# p11-kit for pkcs11.h at build time only: the module links libc alone.
DEPENDS = "p11-kit"
RRECOMMENDS:${PN} = "p11-kit"

# The Makefile takes CC, CFLAGS and LDFLAGS from the environment.
do_compile() {
	oe_runmake libparsec-pkcs11.so
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
