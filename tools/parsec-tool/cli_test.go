package main

import (
	"strings"
	"testing"

	"github.com/parsec-go/parsec/internal/version"
)

// Expected texts come from the Rust parsec-tool 0.7.0 (clap 2), recorded
// against the Rust service; see scripts/tool-compare.sh.

func TestParseForms(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string
		vals map[string]string
		flag []string
	}{
		{[]string{"create-ecc-key", "-k", "a"}, "create-ecc-key", map[string]string{"key-name": "a"}, nil},
		{[]string{"create-ecc-key", "-ka"}, "create-ecc-key", map[string]string{"key-name": "a"}, nil},
		{[]string{"create-ecc-key", "-k=a"}, "create-ecc-key", map[string]string{"key-name": "a"}, nil},
		{[]string{"create-ecc-key", "--key-name", "a"}, "create-ecc-key", map[string]string{"key-name": "a"}, nil},
		{[]string{"create-ecc-key", "--key-name=a=b"}, "create-ecc-key", map[string]string{"key-name": "a=b"}, nil},
		{[]string{"create-rsa-key", "-sok", "r"}, "create-rsa-key", map[string]string{"key-name": "r"}, []string{"for-signing", "oaep"}},
		{[]string{"create-rsa-key", "-k", "r", "-b2048", "-r"}, "create-rsa-key", map[string]string{"key-name": "r", "bits": "2048"}, []string{"for-signing-pss"}},
		{[]string{"sign", "hello world", "--key-name", "k"}, "sign", map[string]string{"key-name": "k", "input-data": "hello world"}, nil},
		{[]string{"sign", "--key-name", "k", "--", "-dash"}, "sign", map[string]string{"key-name": "k", "input-data": "-dash"}, nil},
		{[]string{"-p", "1", "-t", "0", "list-opcodes"}, "list-opcodes", nil, nil},
		{[]string{"-p1", "list-opcodes", "-p", "0"}, "list-opcodes", map[string]string{"provider": "0"}, nil},
		{[]string{"--provider=3", "--timeout=5", "ping"}, "ping", nil, nil},
		{[]string{"create-csr", "-k", "k", "--san", "a", "b", "--san", "c", "--cn", "x"}, "create-csr", map[string]string{"key-name": "k", "cn": "x"}, nil},
	} {
		inv, out := parse(tc.args)
		if out != nil {
			t.Errorf("%q: parse failed: %+v", tc.args, out)
			continue
		}
		if inv.cmd.name != tc.cmd {
			t.Errorf("%q: command %q", tc.args, inv.cmd.name)
		}
		for k, v := range tc.vals {
			if got, ok := inv.value(k); !ok || got != v {
				t.Errorf("%q: %s = %q, want %q", tc.args, k, got, v)
			}
		}
		for _, f := range tc.flag {
			if !inv.flags[f] {
				t.Errorf("%q: flag %s not set", tc.args, f)
			}
		}
	}
	inv, _ := parse([]string{"create-csr", "-k", "k", "--san", "a", "b", "--san", "c"})
	if got := strings.Join(inv.values["san"], ","); got != "a,b,c" {
		t.Errorf("--san values %q", got)
	}
	inv, _ = parse([]string{"-p", "3", "-t", "7", "ping"})
	if inv.provider == nil || *inv.provider != 3 || inv.timeout == nil || *inv.timeout != 7 {
		t.Errorf("global options: %v %v", inv.provider, inv.timeout)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"foo"}, "error: Found argument 'foo' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    parsec-tool [OPTIONS] <SUBCOMMAND>\n\nFor more information try --help\n"},
		{[]string{"create-ecc-key"}, "error: The following required arguments were not provided:\n    --key-name <key-name>\n\nUSAGE:\n    parsec-tool create-ecc-key --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"sign"}, "error: The following required arguments were not provided:\n    <input-data>\n    --key-name <key-name>\n\nUSAGE:\n    parsec-tool sign <input-data> --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"create-rsa-key"}, "error: The following required arguments were not provided:\n    --key-name <key-name>\n\nUSAGE:\n    parsec-tool create-rsa-key [FLAGS] [OPTIONS] --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"create-csr"}, "error: The following required arguments were not provided:\n    --key-name <key-name>\n\nUSAGE:\n    parsec-tool create-csr [OPTIONS] --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"export-public-key"}, "error: The following required arguments were not provided:\n    --key-name <key-name>\n\nUSAGE:\n    parsec-tool export-public-key [FLAGS] --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"create-ecc-key", "-k"}, "error: The argument '--key-name <key-name>' requires a value but none was supplied\n\nUSAGE:\n    parsec-tool create-ecc-key --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"create-ecc-key", "-k", "a", "-k", "b"}, "error: The argument '--key-name <key-name>' was provided more than once, but cannot be used multiple times\n\nUSAGE:\n    parsec-tool create-ecc-key --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"generate-random", "-n", "abc"}, "error: Invalid value for '--nbytes <nbytes>': invalid digit found in string\n"},
		{[]string{"generate-random", "-n", "99999999999999999999999"}, "error: Invalid value for '--nbytes <nbytes>': number too large to fit in target type\n"},
		{[]string{"generate-random", "-n", ""}, "error: Invalid value for '--nbytes <nbytes>': cannot parse integer from empty string\n"},
		{[]string{"-p", "300", "ping"}, "error: Invalid value for '--provider <provider>': number too large to fit in target type\n"},
		{[]string{"-ppp", "ping"}, "error: Invalid value for '--provider <provider>': invalid digit found in string\n"},
		{[]string{"-p", "-1", "ping"}, "error: Found argument '-1' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    parsec-tool --provider <provider>\n\nFor more information try --help\n"},
		{[]string{"ping", "extra"}, "error: Found argument 'extra' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    parsec-tool ping\n\nFor more information try --help\n"},
		{[]string{"ping", "--key-name", "x"}, "error: Found argument '--key-name' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    parsec-tool ping\n\nFor more information try --help\n"},
		{[]string{"create-ecc-key", "-k", "x1", "-s"}, "error: Found argument '-s' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    parsec-tool create-ecc-key --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"create-rsa-key", "-k", "rr", "-sx"}, "error: Found argument '-x' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    parsec-tool create-rsa-key --for-signing --key-name <key-name>\n\nFor more information try --help\n"},
		{[]string{"--foo"}, "error: Found argument '--foo' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    parsec-tool [OPTIONS] <SUBCOMMAND>\n\nFor more information try --help\n"},
		{[]string{"help", "foo"}, "error: The subcommand 'foo' wasn't recognized\n\nUSAGE:\n\tparsec-tool help <subcommands>...\n\nFor more information try --help\n"},
	} {
		inv, out := parse(tc.args)
		if out == nil {
			t.Errorf("%q: parsed as %+v, want an error", tc.args, inv)
			continue
		}
		if out.code != 1 || out.stdout != "" || out.stderr != tc.stderr {
			t.Errorf("%q:\ngot  code %d stdout %q stderr\n%q\nwant\n%q", tc.args, out.code, out.stdout, out.stderr, tc.stderr)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"--version"}, "parsec-tool " + version.Version + " (parsec-go; wire protocol 1.0; command line of parsec-tool 0.7.0)\n"},
		{[]string{"-V", "ping"}, "parsec-tool " + version.Version + " (parsec-go; wire protocol 1.0;"},
		{[]string{"ping", "-V"}, "parsec-tool-ping " + version.Version + "\n"},
		{[]string{"--help"}, "parsec-tool " + version.Version + "\n"},
		{[]string{"help"}, "parsec-tool " + version.Version + "\n"},
		{[]string{"help", "sign"}, "parsec-tool-sign " + version.Version + "\n"},
		{[]string{"sign", "-k", "x1", "-hello"}, "parsec-tool-sign " + version.Version + "\n"},
		{[]string{"create-rsa-key", "--help"}, "parsec-tool-create-rsa-key " + version.Version + "\n"},
	} {
		_, out := parse(tc.args)
		if out == nil || out.code != 0 || out.stderr != "" || !strings.HasPrefix(out.stdout, tc.prefix) {
			t.Errorf("%q: %+v", tc.args, out)
		}
	}
	// No subcommand: the help on stderr and exit code 1.
	_, out := parse([]string{"-t", "5"})
	if out == nil || out.code != 1 || out.stdout != "" || !strings.Contains(out.stderr, "SUBCOMMANDS:") {
		t.Errorf("no subcommand: %+v", out)
	}
	_, out = parse([]string{"create-rsa-key", "-h"})
	for _, want := range []string{
		"USAGE:\n    parsec-tool create-rsa-key [FLAGS] [OPTIONS] --key-name <key-name>\n",
		"-r, --for-signing-pss", "-o, --oaep", "-b, --bits <bits>", "-k, --key-name <key-name>",
	} {
		if !strings.Contains(out.stdout, want) {
			t.Errorf("create-rsa-key help lacks %q:\n%s", want, out.stdout)
		}
	}
	// Every subcommand is listed in the main help and has its own.
	_, out = parse([]string{"--help"})
	for _, c := range allCommands() {
		if !strings.Contains(out.stdout, "\n    "+c.name+" ") {
			t.Errorf("main help does not list %s", c.name)
		}
		if _, o := parse([]string{c.name, "--help"}); o == nil || !strings.Contains(o.stdout, "USAGE:\n    parsec-tool "+c.name) {
			t.Errorf("%s --help: %+v", c.name, o)
		}
	}
	for _, line := range strings.Split(out.stdout, "\n") {
		if len(line) >= helpWidth {
			t.Errorf("help line of %d columns: %q", len(line), line)
		}
	}
}

func TestParseUint(t *testing.T) {
	for _, tc := range []struct {
		s    string
		bits int
		want uint64
		err  string
	}{
		{"0", 8, 0, ""},
		{"255", 8, 255, ""},
		{"+7", 8, 7, ""},
		{"256", 8, 0, "number too large to fit in target type"},
		{"18446744073709551615", 64, 1<<64 - 1, ""},
		{"18446744073709551616", 64, 0, "number too large to fit in target type"},
		{"4294967296", 32, 0, "number too large to fit in target type"},
		{"", 8, 0, "cannot parse integer from empty string"},
		{"+", 8, 0, "invalid digit found in string"},
		{"1x", 8, 0, "invalid digit found in string"},
		{"-1", 8, 0, "invalid digit found in string"},
	} {
		got, err := parseUint(tc.s, tc.bits)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("parseUint(%q, %d) = %d, %v; want error %q", tc.s, tc.bits, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseUint(%q, %d) = %d, %v", tc.s, tc.bits, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("create-csr -k k --san a b --cn x")
	f.Add("-p1 -t0 list-opcodes -p 2")
	f.Add("sign -kx -- -y")
	f.Fuzz(func(t *testing.T, line string) {
		inv, out := parse(strings.Fields(line))
		if (inv == nil) == (out == nil) {
			t.Fatalf("%q: parse returned %v and %v", line, inv, out)
		}
		if out != nil && out.code != 0 && out.stderr == "" {
			t.Fatalf("%q: failure without a message", line)
		}
	})
}

// The tool prints its own version, not the Rust tool's (issue 15, item 15).
func TestVersionIsOurs(t *testing.T) {
	_, out := parse([]string{"--version"})
	if out == nil || strings.Contains(out.stdout, "parsec-tool 0.7.0\n") || !strings.Contains(out.stdout, "wire protocol 1.0") {
		t.Fatalf("--version: %+v", out)
	}
}

// An empty key name is refused before anything is sent (issue 15,
// item 10).
func TestEmptyKeyNameIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"create-ecc-key", "--key-name="},
		{"create-ecc-key", "-k", ""},
		{"sign", "-k", "", "data"},
		{"delete-key", "--key-name", ""},
	} {
		_, out := parse(args)
		if out == nil || out.code != 1 || !strings.Contains(out.stderr, "'--key-name <key-name>' must not be empty") {
			t.Errorf("%q: %+v", args, out)
		}
	}
}
