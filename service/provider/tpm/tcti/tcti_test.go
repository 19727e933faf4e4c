package tcti

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Config
		rm   bool
	}{
		{"device:/dev/tpmrm0", Config{Kind: Device, Path: "/dev/tpmrm0"}, true},
		{"device:/dev/tpm0", Config{Kind: Device, Path: "/dev/tpm0"}, false},
		{"device", Config{Kind: Device, Path: DefaultDevice}, false},
		{"device:", Config{Kind: Device, Path: DefaultDevice}, false},
		{"swtpm:host=127.0.0.1,port=2321", Config{Kind: Swtpm, Host: "127.0.0.1", Port: 2321}, false},
		{"swtpm:port=4000,host=::1", Config{Kind: Swtpm, Host: "::1", Port: 4000}, false},
		{"swtpm", Config{Kind: Swtpm, Host: DefaultHost, Port: DefaultPort}, false},
		{"swtpm:path=/run/swtpm.sock", Config{Kind: Swtpm, Host: DefaultHost, Port: DefaultPort, Path: "/run/swtpm.sock"}, false},
		{"swtpm:host=tpm.local,random=value", Config{Kind: Swtpm, Host: "tpm.local", Port: DefaultPort}, false},
		{"mssim:host=10.0.0.1,port=2321", Config{Kind: Mssim, Host: "10.0.0.1", Port: 2321}, false},
		{"mssim", Config{Kind: Mssim, Host: DefaultHost, Port: DefaultPort}, false},
		{" device:/dev/tpmrm0 ", Config{Kind: Device, Path: "/dev/tpmrm0"}, true},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if got != c.want {
			t.Fatalf("%q: got %+v, want %+v", c.in, got, c.want)
		}
		if got.ResourceManaged() != c.rm {
			t.Fatalf("%q: resource managed %v, want %v", c.in, got.ResourceManaged(), c.rm)
		}
		again, err := Parse(got.String())
		if err != nil || again != got {
			t.Fatalf("%q: String() %q does not parse back (%+v, %v)", c.in, got.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in          string
		unsupported bool
		mention     string
	}{
		{"tabrmd", true, "tpmrm0"},
		{"tabrmd:bus_name=com.intel.tss2.Tabrmd,bus_type=system", true, "D-Bus"},
		{"libtpms", true, "swtpm"},
		{"tbs", true, "Windows"},
		{"mssim:path=/tmp/sock", true, "host="},
		{"", false, "device:/dev/tpmrm0"},
		{"tpm:/dev/tpm0", false, "unknown kind"},
		{"swtpm:port=99999", false, "port"},
		{"swtpm:port=abc", false, "port"},
		{"swtpm:port=0", false, "port"},
		{"mssim:host=", false, "host"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Fatalf("%q parsed", c.in)
		}
		if errors.Is(err, ErrUnsupported) != c.unsupported {
			t.Fatalf("%q: unsupported=%v, want %v (%v)", c.in, errors.Is(err, ErrUnsupported), c.unsupported, err)
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Fatalf("%q: error %q does not mention %q", c.in, err, c.mention)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"device:/dev/tpmrm0", "swtpm:host=a,port=1", "mssim", "tabrmd", "x:y=z,,=,port=65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if c.Kind < Device || c.Kind > Mssim {
			t.Fatalf("%q: kind %v", s, c.Kind)
		}
		if c.Kind != Device && (c.Port <= 0 || c.Port > 65535) {
			t.Fatalf("%q: port %d", s, c.Port)
		}
	})
}

func TestDeviceErrors(t *testing.T) {
	if _, err := openDevice("/nonexistent/tpm0"); !errors.Is(err, ErrTransport) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing device: %v", err)
	}
	if _, err := openDevice(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a character device") {
		t.Fatalf("directory: %v", err)
	}
	// /dev/null is a character device that answers nothing.
	d, err := openDevice("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cmd := []byte{0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8}
	if _, err := d.Send(cmd); !errors.Is(err, ErrTransport) {
		t.Fatalf("send to /dev/null: %v", err)
	}
	if _, err := d.Send(cmd[:8]); err == nil {
		t.Fatal("a truncated command was sent")
	}
}
