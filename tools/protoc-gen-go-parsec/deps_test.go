package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The point of the generator: the daemon, parsec-tool and the client library
// link none of protobuf-go (its reflection runtime registers descriptors at
// init, and even protowire's errors package hashes the executable at
// start-up). Checked for each build-tag set the daemon is built with.
func TestProgramsLinkNoProtobufRuntime(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	const module = "github.com/parsec-go/parsec/"
	for _, tags := range []string{"", "parsec_no_tpm,parsec_no_trustedservice"} {
		out, err := exec.Command(goTool, "list", "-deps", "-tags", tags,
			module+"service/cmd/parsec", module+"tools/parsec-tool", module+"client").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q: %v\n%s", tags, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 50 {
			t.Fatalf("go list -tags %q listed only %d packages", tags, len(deps))
		}
		for _, p := range deps {
			if strings.HasPrefix(p, "google.golang.org/protobuf/") {
				t.Errorf("tags %q: the programs depend on %s", tags, p)
			}
		}
	}
}
