// Package version holds the build's version, stamped by the linker:
//
//	go build -ldflags "-X github.com/parsec-go/parsec/internal/version.Version=1.2.3"
package version

import (
	"strconv"
	"strings"
)

// Version is the parsec-go release.
var Version = "0.1.0"

// Triple returns Version as major, minor, revision (missing or non-numeric
// parts are 0), the form ListProviders reports.
func Triple() [3]uint32 {
	var t [3]uint32
	v := strings.TrimPrefix(Version, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	for i, part := range strings.SplitN(v, ".", 3) {
		n, _ := strconv.ParseUint(part, 10, 32)
		t[i] = uint32(n)
	}
	return t
}
