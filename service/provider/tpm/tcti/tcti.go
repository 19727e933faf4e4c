// Package tcti opens the command channel to a TPM from a TCTI string in the
// forms Parsec's TPM provider accepts (tss-esapi's syntax):
//
//	device[:PATH]                 a character device; /dev/tpm0 if no path
//	swtpm[:host=H,port=P|path=S]  swtpm's data channel (raw TPM commands)
//	mssim[:host=H,port=P]         the Microsoft/IBM simulator protocol
//
// tabrmd, libtpms and tbs are recognised and refused with an explanation.
// A Transport carries one command and its response at a time; callers
// serialise access.
package tcti

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of command channel.
type Kind int

// Channel kinds.
const (
	Device Kind = iota + 1
	Swtpm
	Mssim
)

func (k Kind) String() string {
	switch k {
	case Device:
		return "device"
	case Swtpm:
		return "swtpm"
	case Mssim:
		return "mssim"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Defaults, as in tss-esapi and the TSS TCTIs.
const (
	DefaultDevice = "/dev/tpm0"
	DefaultHost   = "localhost"
	DefaultPort   = 2321
)

// ErrTransport marks a failure to reach the TPM (as opposed to the TPM
// answering with an error code).
var ErrTransport = errors.New("TPM transport error")

// ErrUnsupported marks a TCTI this implementation cannot use.
var ErrUnsupported = errors.New("unsupported TCTI")

// Config is a parsed TCTI string.
type Config struct {
	Kind Kind
	// Path is the device node (Device) or the Unix socket (Swtpm).
	Path string
	Host string
	Port int
}

// Parse reads a TCTI string. Unknown key=value options are ignored, as
// tss-esapi does.
func Parse(s string) (Config, error) {
	s = strings.TrimSpace(s)
	name, conf, _ := strings.Cut(s, ":")
	switch name {
	case "device":
		if conf == "" {
			conf = DefaultDevice
		}
		return Config{Kind: Device, Path: conf}, nil
	case "swtpm", "mssim":
		c := Config{Kind: Swtpm, Host: DefaultHost, Port: DefaultPort}
		if name == "mssim" {
			c.Kind = Mssim
		}
		if err := c.parseSimulator(conf); err != nil {
			return Config{}, fmt.Errorf("TCTI %q: %w", s, err)
		}
		if c.Kind == Mssim && c.Path != "" {
			return Config{}, fmt.Errorf("%w: TCTI %q: mssim over a Unix socket is not supported; use host= and port=", ErrUnsupported, s)
		}
		return c, nil
	case "tabrmd":
		return Config{}, fmt.Errorf("%w: TCTI %q: the TPM2 access broker daemon (tabrmd) talks D-Bus, which this pure-Go provider does not; use the kernel resource manager instead: tcti = \"device:/dev/tpmrm0\"", ErrUnsupported, s)
	case "libtpms":
		return Config{}, fmt.Errorf("%w: TCTI %q: linking libtpms needs cgo; run swtpm and use tcti = \"swtpm:host=127.0.0.1,port=2321\"", ErrUnsupported, s)
	case "tbs":
		return Config{}, fmt.Errorf("%w: TCTI %q: the Windows TPM Base Services are not available here", ErrUnsupported, s)
	case "":
		return Config{}, fmt.Errorf("empty TCTI; use e.g. \"device:/dev/tpmrm0\" or \"swtpm:host=127.0.0.1,port=2321\"")
	}
	return Config{}, fmt.Errorf("TCTI %q: unknown kind %q; use device:PATH, swtpm:host=H,port=P or mssim:host=H,port=P", s, name)
}

func (c *Config) parseSimulator(conf string) error {
	if conf == "" {
		return nil
	}
	for _, kv := range strings.Split(conf, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "host":
			v = strings.TrimSpace(v)
			if v == "" {
				return errors.New("empty host")
			}
			c.Host = v
		case "port":
			p, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
			if err != nil || p == 0 {
				return fmt.Errorf("port %q is not a TCP port number", v)
			}
			c.Port = int(p)
		case "path":
			c.Path = v
		}
	}
	return nil
}

// String renders the configuration in TCTI syntax.
func (c Config) String() string {
	switch {
	case c.Kind == Device:
		return "device:" + c.Path
	case c.Path != "":
		return c.Kind.String() + ":path=" + c.Path
	default:
		return fmt.Sprintf("%s:host=%s,port=%d", c.Kind, c.Host, c.Port)
	}
}

// ResourceManaged reports whether something between us and the TPM
// virtualises object handles per connection (the kernel's /dev/tpmrmN). On
// other channels transient objects are global: ours survive a lost
// connection and others' can fill the TPM.
func (c Config) ResourceManaged() bool {
	return c.Kind == Device && strings.HasPrefix(pathBase(c.Path), "tpmrm")
}

func pathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (c Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Transport sends one TPM command and returns its response. It is not safe
// for concurrent use.
type Transport interface {
	Send(cmd []byte) ([]byte, error)
	Close() error
}

// Timeouts for network channels. The response timeout is long because key
// generation on a slow TPM (RSA 3072/4096) can take tens of seconds.
const (
	dialTimeout     = 5 * time.Second
	responseTimeout = 3 * time.Minute
)

// maxResponse bounds the size a TPM may announce in a response header.
const maxResponse = 64 << 10

// Open opens the channel. For swtpm nothing is connected until the first
// Send, as with the TSS swtpm TCTI: each command uses its own connection,
// so other clients of the same swtpm can interleave with us and a
// restarted swtpm is picked up at once.
func (c Config) Open() (Transport, error) {
	switch c.Kind {
	case Device:
		return openDevice(c.Path)
	case Swtpm:
		return &swtpm{cfg: c}, nil
	case Mssim:
		return openMssim(c)
	}
	return nil, fmt.Errorf("%w: kind %v", ErrUnsupported, c.Kind)
}

func transportErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTransport, fmt.Sprintf(format, args...))
}

// checkCommand validates the size field of a command header, which every
// channel relies on.
func checkCommand(cmd []byte) error {
	if len(cmd) < 10 {
		return fmt.Errorf("TPM command of %d bytes is shorter than its header", len(cmd))
	}
	if n := int(uint32(cmd[2])<<24 | uint32(cmd[3])<<16 | uint32(cmd[4])<<8 | uint32(cmd[5])); n != len(cmd) {
		return fmt.Errorf("TPM command header says %d bytes, buffer has %d", n, len(cmd))
	}
	return nil
}

// responseSize reads the size field of a response header.
func responseSize(hdr []byte) (int, error) {
	n := int(uint32(hdr[2])<<24 | uint32(hdr[3])<<16 | uint32(hdr[4])<<8 | uint32(hdr[5]))
	if n < 10 || n > maxResponse {
		return 0, transportErr("TPM response header announces %d bytes", n)
	}
	return n, nil
}
