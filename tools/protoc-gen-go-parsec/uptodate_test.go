package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The checked-in wire/pb, internal/ts/pb and test schema code is what this generator
// writes now (scripts/gen-proto.sh regenerates it). Needs protoc, which
// scripts/gen-proto.sh installs from Debian's protobuf-compiler.
func TestGeneratedCodeUpToDate(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc is not installed (Debian: protobuf-compiler)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	bin := t.TempDir()
	plugin := filepath.Join(bin, "protoc-gen-go-parsec")
	if out, err := exec.Command(goTool, "build", "-o", plugin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	root := filepath.Join("..", "..")
	for _, pkg := range []struct{ src, out string }{
		{"wire/proto", "wire/pb"},
		{"internal/ts/proto", "internal/ts/pb"},
		{"tools/protoc-gen-go-parsec/internal/kindspb", "tools/protoc-gen-go-parsec/internal/kindspb"},
	} {
		src := filepath.Join(root, pkg.src)
		protos, err := filepath.Glob(filepath.Join(src, "*.proto"))
		if err != nil || len(protos) == 0 {
			t.Fatalf("no .proto files in %s (%v)", src, err)
		}
		out := t.TempDir()
		args := append([]string{"--plugin=protoc-gen-go-parsec=" + plugin, "-I", src,
			"--go-parsec_out=" + out, "--go-parsec_opt=paths=source_relative,test_table=true"}, protos...)
		if b, err := exec.Command(protoc, args...).CombinedOutput(); err != nil {
			t.Fatalf("protoc %s: %v\n%s", pkg.src, err, b)
		}
		generated, _ := filepath.Glob(filepath.Join(out, "*.go"))
		checkedIn, _ := filepath.Glob(filepath.Join(root, pkg.out, "*.pb*.go"))
		if len(generated) != len(checkedIn) {
			t.Errorf("%s: %d files generated, %d checked in: run scripts/gen-proto.sh", pkg.out, len(generated), len(checkedIn))
		}
		for _, g := range generated {
			want, _ := os.ReadFile(g)
			got, err := os.ReadFile(filepath.Join(root, pkg.out, filepath.Base(g)))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s is not what the generator writes now: run scripts/gen-proto.sh", pkg.out, filepath.Base(g))
			}
		}
	}
}
