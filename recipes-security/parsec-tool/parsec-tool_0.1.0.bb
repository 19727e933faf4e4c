SUMMARY = "Parsec command line client (Go implementation)"
DESCRIPTION = "parsec-tool talks to a Parsec service over its Unix socket: \
key management, signing, encryption, CSR creation. The package \
parsec-tool-tests holds parsec-cli-tests.sh, the end-to-end test script that \
upstream's oeqa test and ours run on the target."

require recipes-security/parsec-go/parsec-go.inc

GO_INSTALL = "${GO_IMPORT}/tools/parsec-tool"

# jwt-svid: authenticate with a JWT-SVID from the SPIFFE Workload API when
# PARSEC_JWT_SVID_ENDPOINT (always) or SPIFFE_ENDPOINT_SOCKET (when the
# service offers JwtSvid first) is set. Adds go-spiffe and gRPC (about
# 8 MB stripped), so off by default.
PACKAGECONFIG ??= ""
PACKAGECONFIG[jwt-svid] = ",,,"
GOBUILDFLAGS:append = "${@bb.utils.contains('PACKAGECONFIG', 'jwt-svid', ' -tags=parsec_jwtsvid', '', d)}"

do_install() {
	install -d ${D}${bindir}
	install -m 0755 ${B}/${GO_BUILD_BINDIR}/parsec-tool ${D}${bindir}/parsec-tool
	install -m 0755 ${S}/src/${GO_IMPORT}/tools/parsec-cli-tests/parsec-cli-tests.sh ${D}${bindir}/parsec-cli-tests.sh
}

# The test script and the openssl command it judges results with stay off
# devices that only need the tool.
PACKAGES =+ "${PN}-tests"
FILES:${PN}-tests = "${bindir}/parsec-cli-tests.sh"
RDEPENDS:${PN}-tests = "${PN} openssl-bin"
