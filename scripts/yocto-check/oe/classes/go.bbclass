# Model of oe-core's go.bbclass as far as it shapes the build of a static
# program: same variable names, defaults and command line.
GO_DYNLINK = "${@'1' if d.getVar('TARGET_ARCH') in ('arm', 'aarch64', 'i586', 'x86_64', 'powerpc64', 'powerpc64le') else ''}"
GO_LINKSHARED ?= "${@'-linkshared' if d.getVar('GO_DYNLINK') else ''}"
GO_RPATH = "${@'-r ${libdir}/go/pkg/${TARGET_GOTUPLE}_dynlink' if d.getVar('GO_DYNLINK') else ''}"
GO_EXTLDFLAGS ?= "-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed"
GO_LINKMODE ?= ""
GO_EXTRA_LDFLAGS ?= ""
GO_LINUXLOADER ?= "-I ${TARGET_LOADER}"
GO_LDFLAGS ?= '-ldflags="${GO_RPATH} ${GO_LINKMODE} ${GO_LINUXLOADER} ${GO_EXTRA_LDFLAGS} -extldflags '${GO_EXTLDFLAGS}'"'
export GOBUILDFLAGS ?= "-v ${GO_LDFLAGS} -trimpath"
# go.bbclass adds this from anonymous python on every arch but mips/riscv32.
GOBUILDFLAGS:append = " -buildmode=pie"
export CGO_ENABLED ?= "1"
export GOPROXY ??= "https://proxy.golang.org,direct"
GO_INSTALL ?= "${GO_IMPORT}/..."
B = "${WORKDIR}/build"
export GOPATH = "${B}"
export GOARCH = "${TARGET_GOARCH}"
export GOOS = "linux"
export GOENV = "off"
export GOWORK = "off"

go_do_configure() {
	ln -snf ${S}/src ${B}/
}

go_do_compile() {
	export TMPDIR="${GOTMPDIR}"
	if [ -n "${GO_INSTALL}" ]; then
		if [ -n "${GO_LINKSHARED}" ]; then
			${GO} install ${GOBUILDFLAGS} ${GO_INSTALL}
			rm -rf ${B}/bin
		fi
		${GO} install ${GO_LINKSHARED} ${GOBUILDFLAGS} ${GO_INSTALL}
	fi
}
