SUMMARY = "Parsec platform security service (Go implementation)"
DESCRIPTION = "Daemon that offers the PSA Crypto API to local clients over \
Parsec's wire protocol on /run/parsec/parsec.sock, with software, TPM 2.0 \
and Trusted Services back ends. Drop-in for the Rust parsec-service: same \
package name, paths, config.toml keys and init integration."

require recipes-security/parsec-go/parsec-go.inc

GO_INSTALL = "${GO_IMPORT}/service/cmd/parsec ${GO_IMPORT}/service/cmd/parsec-takeover"

SRC_URI += " \
    file://parsec.init \
    file://parsec.service \
    file://parsec.socket \
    file://parsec.tmpfiles \
    file://config/parsec-core.toml \
    file://config/provider-MBED-CRYPTO.toml \
    file://config/provider-TPM.toml \
    file://config/provider-TS.toml \
"

# Providers, with upstream meta-parsec's PACKAGECONFIG names. An option
# decides whether the provider is built into the daemon, what goes into the
# generated config.toml, which groups the parsec user joins and what is
# pulled in at run time. The providers are pure Go (no C libraries to
# depend on). The software provider (MBED-CRYPTO) is always built in; the
# option only adds it to config.toml. CRYPTOAUTHLIB is not available.
PACKAGECONFIG ??= "MBED-CRYPTO ${@bb.utils.contains('DISTRO_FEATURES', 'tpm2', 'TPM', '', d)}"
PACKAGECONFIG[MBED-CRYPTO] = ",,,"
PACKAGECONFIG[TPM] = ",,,"
PACKAGECONFIG[TS] = ",,,"

# PKCS11: the PKCS#11 provider. The daemon stays static and CGO-free; the
# token's PKCS#11 module is loaded by the co-server parsec-pkcs11, the one
# cgo program (service/cmd/parsec-pkcs11), built here too and installed
# next to the daemon, where the daemon looks for it. No provider table is
# generated: a Pkcs11 provider needs a token that exists and its PIN, so
# add one to config.toml (keys as in Rust Parsec: library_path,
# serial_number or slot_number, user_pin). The parsec user joins group
# softhsm so that a SoftHSM 2 token directory made group-writable for
# softhsm can be used (the oeqa test does this).
PACKAGECONFIG[PKCS11] = ",,,"
# SoftHSM 2 (meta-oe) as the token, for test images.
PACKAGECONFIG[SOFTHSM] = ",,,softhsm"

# The PKCS#11 module (recipe parsec-pkcs11-module): applications reach the
# service's keys through PKCS#11 and p11-kit.
PACKAGECONFIG[pkcs11-module] = ",,,parsec-pkcs11-module"

# Software TPM (swtpm, from meta-tpm) as the TPM back end, for test images.
# The simulator is started by whoever needs it (see lib/oeqa).
PACKAGECONFIG[SWTPM] = ",,,swtpm"

# A hardware provider whose option is off is left out of the binary by the
# Go build tag that service/cmd/parsec defines for it: on amd64, TPM is
# about 0.9 MB of a 9.4 MB stripped binary, TS about 0.35 MB, and idle
# memory drops too. The daemon then refuses a config that names a left-out
# provider, saying which option brings it back.
# jwt-svid builds in the JwtSvid authenticator (SPIFFE JWT-SVIDs checked
# with the trust bundles of the SPIFFE Workload API, e.g. a SPIRE agent):
# go-spiffe and gRPC add about 6.3 MB to the stripped daemon, so it is off
# by default. Name it in config.toml yourself ([authenticator] auth_type =
# "JwtSvid" with workload_endpoint, or one [[authenticator]] of several).
PACKAGECONFIG[jwt-svid] = ",,,"

PARSEC_GO_TAGS = "${@bb.utils.contains('PACKAGECONFIG', 'jwt-svid', 'parsec_jwtsvid', '', d)} \
    ${@bb.utils.contains('PACKAGECONFIG', 'TPM', '', 'parsec_no_tpm', d)} \
    ${@bb.utils.contains('PACKAGECONFIG', 'TS', '', 'parsec_no_trustedservice', d)} \
    ${@bb.utils.contains('PACKAGECONFIG', 'PKCS11', '', 'parsec_no_pkcs11', d)}"
GOBUILDFLAGS:append = "${@' -tags=' + ','.join(d.getVar('PARSEC_GO_TAGS').split()) if d.getVar('PARSEC_GO_TAGS').split() else ''}"

# Providers written to config.toml, in priority order (the first one is the
# clients' default). Each name needs a config/provider-<name>.toml fragment.
PARSEC_PROVIDER_ORDER ?= "TPM TS MBED-CRYPTO"
PARSEC_CONFIG_PROVIDERS ?= "${@' '.join(p for p in d.getVar('PARSEC_PROVIDER_ORDER').split() if bb.utils.contains('PACKAGECONFIG', p, True, False, d))}"
PARSEC_TPM_TCTI ?= "${@bb.utils.contains('PACKAGECONFIG', 'SWTPM', 'swtpm:port=2321', 'device:/dev/tpmrm0', d)}"
PARSEC_STATEDIR = "${localstatedir}/lib/parsec"

# The file installed as /etc/parsec/config.toml. Point it at your own file
# (listed in SRC_URI of a bbappend) to replace the generated one.
PARSEC_CONFIG ?= "${B}/parsec-config.toml"
CONFFILES:${PN} = "${sysconfdir}/parsec/config.toml"

inherit useradd
USERADD_PACKAGES = "${PN}"
PARSEC_EXTRA_GROUPS = "${@bb.utils.contains('PACKAGECONFIG', 'TPM', 'tss', '', d)} ${@bb.utils.contains('PACKAGECONFIG', 'TS', 'teeclnt', '', d)} ${@bb.utils.contains('PACKAGECONFIG', 'PKCS11', 'softhsm', '', d)}"
# parsec-clients: members may use the service (see /run/parsec below). tss
# and teeclnt give access to /dev/tpmrm0 and /dev/tee0; created here because
# no C library package (tpm2-tss, optee-client) is needed that would do it;
# softhsm is the group of SoftHSM 2 token directories (meta-oe's softhsm
# creates none).
GROUPADD_PARAM:${PN} = "--system parsec; --system parsec-clients${@''.join('; --system ' + g for g in d.getVar('PARSEC_EXTRA_GROUPS').split())}"
USERADD_PARAM:${PN} = "--system --gid parsec ${@'--groups ' + ','.join(d.getVar('PARSEC_EXTRA_GROUPS').split()) if d.getVar('PARSEC_EXTRA_GROUPS').split() else ''} --home-dir ${PARSEC_STATEDIR} --no-create-home --shell ${base_bindir}/false parsec"

inherit update-rc.d systemd
INITSCRIPT_NAME = "parsec"
INITSCRIPT_PARAMS = "defaults 80 20"
SYSTEMD_SERVICE:${PN} = "parsec.socket parsec.service"

# The co-server, with cgo (the rest of the recipe builds CGO-free), into the
# directory go_do_compile installs the daemon into.
PARSEC_PKCS11_COSERVER = "${@bb.utils.contains('PACKAGECONFIG', 'PKCS11', '${GO_IMPORT}/service/cmd/parsec-pkcs11', '', d)}"
do_compile:append() {
	if [ -n "${PARSEC_PKCS11_COSERVER}" ]; then
		CGO_ENABLED=1 ${GO} install ${GOBUILDFLAGS} ${PARSEC_PKCS11_COSERVER}
	fi
}

parsec_generate_config() {
	out="$1"
	sed -e 's#@PARSEC_STATEDIR@#${PARSEC_STATEDIR}#g' \
		${PARSEC_UNPACKDIR}/config/parsec-core.toml > "$out"
	for p in ${PARSEC_CONFIG_PROVIDERS}; do
		frag="${PARSEC_UNPACKDIR}/config/provider-$p.toml"
		if [ ! -f "$frag" ]; then
			bbfatal "PARSEC_CONFIG_PROVIDERS names $p but there is no $frag"
		fi
		printf '\n' >> "$out"
		sed -e 's#@PARSEC_STATEDIR@#${PARSEC_STATEDIR}#g' \
			-e 's#@PARSEC_TPM_TCTI@#${PARSEC_TPM_TCTI}#g' "$frag" >> "$out"
	done
}

# Paths follow the Parsec book's Linux installation guide. Unlike the book,
# the binary and the config belong to root and are only readable by group
# parsec: a compromised daemon cannot replace its own program or rewrite
# its own configuration.
do_install() {
	install -d -m 0750 -o root -g parsec ${D}${libexecdir}/parsec
	install -m 0750 -o root -g parsec ${B}/${GO_BUILD_BINDIR}/parsec ${D}${libexecdir}/parsec/parsec
	if [ -n "${PARSEC_PKCS11_COSERVER}" ]; then
		install -m 0750 -o root -g parsec ${B}/${GO_BUILD_BINDIR}/parsec-pkcs11 ${D}${libexecdir}/parsec/parsec-pkcs11
	fi
	# Upgrading from upstream meta-parsec's Rust parsec-service: the daemon
	# runs this at its first start (found beside it) to carry the Rust
	# service's keys over from /var/lib/parsec, leaving Rust's files as
	# they are (see README, "Upgrading from Rust Parsec").
	install -m 0750 -o root -g parsec ${B}/${GO_BUILD_BINDIR}/parsec-takeover ${D}${libexecdir}/parsec/parsec-takeover

	parsec_generate_config ${B}/parsec-config.toml
	install -d -m 0750 -o root -g parsec ${D}${sysconfdir}/parsec
	install -m 0640 -o root -g parsec ${PARSEC_CONFIG} ${D}${sysconfdir}/parsec/config.toml

	install -d -m 0700 -o parsec -g parsec ${D}${PARSEC_STATEDIR}

	# Both init integrations; the systemd and update-rc.d classes drop the
	# one the distro does not use.
	install -d ${D}${sysconfdir}/init.d
	sed -e 's#/usr/libexec/#${libexecdir}/#g' \
		-e 's#/etc/parsec/#${sysconfdir}/parsec/#g' \
		-e 's#/var/lib/parsec#${PARSEC_STATEDIR}#g' \
		${PARSEC_UNPACKDIR}/parsec.init > ${D}${sysconfdir}/init.d/parsec
	chmod 0755 ${D}${sysconfdir}/init.d/parsec

	install -d ${D}${systemd_system_unitdir}
	for unit in parsec.service parsec.socket; do
		sed -e 's#@LIBEXECDIR@#${libexecdir}#g' \
			-e 's#@SYSCONFDIR@#${sysconfdir}#g' \
			-e 's#@LOCALSTATEDIR@#${localstatedir}#g' \
			-e 's#@BASE_BINDIR@#${base_bindir}#g' \
			${PARSEC_UNPACKDIR}/$unit > ${D}${systemd_system_unitdir}/$unit
		chmod 0644 ${D}${systemd_system_unitdir}/$unit
	done
	install -d ${D}${nonarch_libdir}/tmpfiles.d
	install -m 0644 ${PARSEC_UNPACKDIR}/parsec.tmpfiles ${D}${nonarch_libdir}/tmpfiles.d/parsec.conf
}

# parsec-takeover links a SQLite engine (about 7 MB): its own package,
# recommended so that an image replacing upstream meta-parsec's Rust
# parsec-service takes the keys over with no manual step; an image that
# never ran Rust Parsec can leave it out with BAD_RECOMMENDATIONS. This
# package keeps upstream's name (parsec-service), user, group, state
# directory, config file (CONFFILES) and working directory, and PE = "1"
# makes it an upgrade of upstream's 1.x, so no RREPLACES/RCONFLICTS/RPROVIDES
# are needed: the package manager replaces Rust's daemon in place.
PACKAGES =+ "${PN}-takeover"
FILES:${PN}-takeover = "${libexecdir}/parsec/parsec-takeover"
RRECOMMENDS:${PN} += "${PN}-takeover"

FILES:${PN} += " \
    ${libexecdir}/parsec \
    ${sysconfdir}/parsec \
    ${PARSEC_STATEDIR} \
    ${systemd_system_unitdir}/parsec.service \
    ${systemd_system_unitdir}/parsec.socket \
    ${nonarch_libdir}/tmpfiles.d/parsec.conf \
"
