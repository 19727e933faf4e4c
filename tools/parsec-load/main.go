// Command parsec-load measures a Parsec service from the outside: it sends
// raw wire-protocol requests, one connection per request as every Parsec
// client does, from N concurrent clients, and reports throughput and
// latency percentiles. It speaks the protocol directly so that the client
// costs the same against any service, ours or the Rust one.
//
//	parsec-load [-endpoint unix:/run/parsec/parsec.sock] [-op ping|random|sign|create|list]
//	            [-clients 1] [-duration 5s | -n 1000] [-provider 1] [-key NAME]
//	            [-io auto|blocking|poller] [-alg ecdsa|rsa] [-raw]
//	parsec-load -startup "parsec -c config.toml" [-runs 10] [-startup-dir DIR]
//
// -op sign creates an ECC P-256 ECDSA(SHA-256) key first (and destroys it
// after), or with -alg rsa an RSA-2048 PKCS#1 v1.5 (SHA-256) key; with -raw
// it signs with -key as named, unauthenticated, creating nothing (for the
// PKCS#11 co-server's own socket, whose key names are token ids). -op create generates such a key per request, each under a new
// name, and leaves them (the key store benchmarks fill stores with it);
// -op list is ListKeys. -startup starts the given command repeatedly and measures the
// time from spawn to the first successful Ping.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv("PARSEC_SERVICE_ENDPOINT"), "service endpoint (unix:PATH); default $PARSEC_SERVICE_ENDPOINT or unix:/run/parsec/parsec.sock")
	op := flag.String("op", "ping", "operation: ping, random, sign, create, list")
	clients := flag.Int("clients", 1, "concurrent clients")
	duration := flag.Duration("duration", 5*time.Second, "how long to run (ignored with -n)")
	count := flag.Int("n", 0, "total requests (overrides -duration)")
	providerID := flag.Uint("provider", 1, "provider id for random and sign")
	keyName := flag.String("key", "parsec-load-key", "key name for sign")
	startup := flag.String("startup", "", "measure start-up: command line of a service to start repeatedly")
	runs := flag.Int("runs", 10, "start-up runs")
	startDir := flag.String("startup-dir", "", "working directory of the -startup command (Rust's Mbed Crypto provider keeps its keys there)")
	alg := flag.String("alg", "ecdsa", "key and algorithm for sign: ecdsa (P-256, SHA-256) or rsa (2048 bits, PKCS#1 v1.5 SHA-256)")
	raw := flag.Bool("raw", false, "sign with -key as is, without authentication or key creation (the PKCS#11 co-server's socket)")
	ioMode := flag.String("io", "auto", "client I/O: blocking (a thread per client, like separate client processes), poller (Go's runtime poller), auto (blocking for 1 client, poller for more)")
	flag.Parse()

	socket := strings.TrimPrefix(strings.TrimPrefix(*endpoint, "unix://"), "unix:")
	if socket == "" {
		socket = "/run/parsec/parsec.sock"
	}
	if *startup != "" {
		if err := measureStartup(*startup, *startDir, socket, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "parsec-load:", err)
			os.Exit(1)
		}
		return
	}
	req, cleanup, err := prepare(socket, *op, wire.ProviderID(*providerID), *keyName, signSpec{*alg, *raw})
	if err != nil {
		fmt.Fprintln(os.Stderr, "parsec-load:", err)
		os.Exit(1)
	}
	defer cleanup()
	// Whichever costs the tool less CPU leaves more of the machine to the
	// service under test: blocking sockets save the poller's work for a
	// lone client, the poller saves thread switches for many.
	mode := *ioMode
	if mode == "auto" {
		mode = "poller"
		if *clients == 1 {
			mode = "blocking"
		}
	}
	do := send
	switch mode {
	case "blocking":
	case "poller":
		do = sendPolled
	default:
		fmt.Fprintf(os.Stderr, "parsec-load: unknown -io %q (auto, blocking, poller)\n", *ioMode)
		os.Exit(2)
	}
	res := run(socket, req, *clients, *duration, *count, do)
	if res.errors > 0 {
		fmt.Fprintf(os.Stderr, "parsec-load: %d requests failed, the first with: %v\n", res.errors, res.firstErr)
		if res.ok == 0 {
			os.Exit(1)
		}
	}
	res.print(*op, *clients, mode)
}

// request is a ready-to-send message: header and body bytes.
type request []byte

// source gives client c's i-th request.
type source func(c, i int) request

// fixed sends the same request every time.
func fixed(r request) source { return func(int, int) request { return r } }

func build(provider wire.ProviderID, op wire.Opcode, m protomsg.Message, authed bool) request {
	body, err := protomsg.Marshal(m)
	if err != nil {
		panic(err)
	}
	h := wire.Header{Provider: provider, Opcode: op, BodyLen: uint32(len(body))}
	var auth []byte
	if authed {
		h.AuthType = wire.AuthUnixPeerCredentials
		auth = binary.LittleEndian.AppendUint32(nil, uint32(os.Getuid()))
		h.AuthLen = 4
	}
	b := h.Marshal(nil)
	b = append(b, body...)
	return append(b, auth...)
}

var signAlg = &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_Ecdsa_{Ecdsa: &pb.Algorithm_AsymmetricSignature_Ecdsa{
	HashAlg: &pb.Algorithm_AsymmetricSignature_SignHash{Variant: &pb.Algorithm_AsymmetricSignature_SignHash_Specific{Specific: pb.Algorithm_SHA_256}}}}}

// signKey is an ECC P-256 key for ECDSA(SHA-256).
var signKey = &pb.KeyAttributes{
	KeyType: &pb.KeyType{Variant: &pb.KeyType_EccKeyPair_{EccKeyPair: &pb.KeyType_EccKeyPair{CurveFamily: pb.KeyType_SECP_R1}}},
	KeyBits: 256,
	KeyPolicy: &pb.KeyPolicy{
		KeyUsageFlags: &pb.UsageFlags{SignHash: true, VerifyHash: true, SignMessage: true, VerifyMessage: true},
		KeyAlgorithm:  &pb.Algorithm{Variant: &pb.Algorithm_AsymmetricSignature_{AsymmetricSignature: signAlg}},
	},
}

var rsaSignAlg = &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_RsaPkcs1V15Sign_{RsaPkcs1V15Sign: &pb.Algorithm_AsymmetricSignature_RsaPkcs1V15Sign{
	HashAlg: &pb.Algorithm_AsymmetricSignature_SignHash{Variant: &pb.Algorithm_AsymmetricSignature_SignHash_Specific{Specific: pb.Algorithm_SHA_256}}}}}

// rsaSignKey is an RSA-2048 key for PKCS#1 v1.5 signatures with SHA-256.
var rsaSignKey = &pb.KeyAttributes{
	KeyType: &pb.KeyType{Variant: &pb.KeyType_RsaKeyPair_{RsaKeyPair: &pb.KeyType_RsaKeyPair{}}},
	KeyBits: 2048,
	KeyPolicy: &pb.KeyPolicy{
		KeyUsageFlags: &pb.UsageFlags{SignHash: true, VerifyHash: true, SignMessage: true, VerifyMessage: true},
		KeyAlgorithm:  &pb.Algorithm{Variant: &pb.Algorithm_AsymmetricSignature_{AsymmetricSignature: rsaSignAlg}},
	},
}

// signSpec chooses the key of -op sign.
type signSpec struct {
	alg string
	raw bool
}

func prepare(socket, op string, provider wire.ProviderID, key string, spec signSpec) (source, func(), error) {
	nop := func() {}
	switch op {
	case "ping":
		return fixed(build(0, wire.OpPing, &pb.PingRequest{}, false)), nop, nil
	case "random":
		return fixed(build(provider, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 32}, false)), nop, nil
	case "list":
		return fixed(build(0, wire.OpListKeys, &pb.ListKeysRequest{}, true)), nop, nil
	case "create":
		// Names unique across runs: a store may be filled by several.
		prefix := fmt.Sprintf("%s-%d-%d", key, os.Getpid(), time.Now().UnixNano())
		return func(c, i int) request {
			return build(provider, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: fmt.Sprintf("%s-%d-%d", prefix, c, i), Attributes: signKey}, true)
		}, nop, nil
	case "sign":
		attrs, alg := signKey, signAlg
		switch spec.alg {
		case "ecdsa":
		case "rsa":
			attrs, alg = rsaSignKey, rsaSignAlg
		default:
			return nil, nop, fmt.Errorf("unknown -alg %q (ecdsa, rsa)", spec.alg)
		}
		hash := make([]byte, 32)
		for i := range hash {
			hash[i] = byte(i)
		}
		sign := &pb.SignHashRequest{KeyName: key, Alg: alg, Hash: hash}
		if spec.raw {
			return fixed(build(provider, wire.OpPsaSignHash, sign, false)), nop, nil
		}
		destroy := build(provider, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: key}, true)
		send(socket, destroy) // a leftover from an interrupted run
		if st, err := send(socket, build(provider, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: key, Attributes: attrs}, true)); err != nil || st != 0 {
			return nil, nop, fmt.Errorf("creating the signing key: status %v, %v", st, err)
		}
		return fixed(build(provider, wire.OpPsaSignHash, sign, true)),
			func() { send(socket, destroy) }, nil
	}
	return nil, nop, fmt.Errorf("unknown -op %q (ping, random, sign, create, list)", op)
}

// send does one request on a new connection and returns the status. It
// uses a plain blocking socket, as Parsec's Rust client does, so that the
// tool itself spends as little CPU as it can beside the service it loads.
func send(socket string, req request) (wire.Status, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	// A service that stops answering fails the request instead of
	// hanging the run.
	tv := unix.NsecToTimeval(int64(30 * time.Second))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return 0, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		return 0, os.NewSyscallError("connect", err)
	}
	for off := 0; off < len(req); {
		n, err := unix.Write(fd, req[off:])
		if err != nil && err != unix.EINTR {
			return 0, os.NewSyscallError("write", err)
		}
		off += max(n, 0)
	}
	var buf [4096]byte
	got, want := 0, wire.HeaderSize
	var h wire.Header
	for got < want {
		// The body is only counted: the status is in the header.
		n, err := unix.Read(fd, buf[min(got, wire.HeaderSize):])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("read", err)
		}
		if n == 0 {
			return 0, io.ErrUnexpectedEOF
		}
		if got < wire.HeaderSize && got+n >= wire.HeaderSize {
			if h, err = wire.ParseHeader(buf[:wire.HeaderSize]); err != nil {
				return 0, err
			}
			want += int(h.BodyLen)
		}
		got += n
	}
	return h.Status, nil
}

// sendPolled is send through Go's net package and runtime poller.
func sendPolled(socket string, req request) (wire.Status, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(req); err != nil {
		return 0, err
	}
	var hb [wire.HeaderSize]byte
	if _, err := io.ReadFull(conn, hb[:]); err != nil {
		return 0, err
	}
	h, err := wire.ParseHeader(hb[:])
	if err != nil {
		return 0, err
	}
	if _, err := io.CopyN(io.Discard, conn, int64(h.BodyLen)); err != nil {
		return 0, err
	}
	return h.Status, nil
}

type result struct {
	ok, errors int
	firstErr   error
	elapsed    time.Duration
	lat        []time.Duration
}

func run(socket string, next source, clients int, d time.Duration, n int, send func(string, request) (wire.Status, error)) result {
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	perClient := 0
	if n > 0 {
		perClient = (n + clients - 1) / clients
	}
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			var errs int
			var first error
			for i := 0; ; i++ {
				if perClient > 0 && i >= perClient || perClient == 0 && time.Now().After(stop) {
					break
				}
				t0 := time.Now()
				st, err := send(socket, next(c, i))
				if err == nil && st != wire.StatusSuccess {
					err = errors.New(st.String())
				}
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.ok += len(lat)
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// print writes one machine-readable line (key=value) for scripts.
func (r result) print(op string, clients int, mode string) {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	fmt.Printf("op=%s clients=%d io=%s requests=%d errors=%d seconds=%.2f rps=%.0f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s\n",
		op, clients, mode, r.ok, r.errors, r.elapsed.Seconds(), float64(r.ok)/r.elapsed.Seconds(),
		ms(pct(r.lat, 0.5)), ms(pct(r.lat, 0.9)), ms(pct(r.lat, 0.99)), ms(pct(r.lat, 1)))
}

// measureStartup spawns the service runs times and reports spawn to first
// successful Ping, polling every 200 µs.
func measureStartup(cmdline, dir, socket string, runs int) error {
	var times []time.Duration
	ping := build(0, wire.OpPing, &pb.PingRequest{}, false)
	args := strings.Fields(cmdline)
	for i := 0; i < runs; i++ {
		os.Remove(socket)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		var up time.Duration
		for time.Since(t0) < 10*time.Second {
			if st, err := send(socket, ping); err == nil && st == 0 {
				up = time.Since(t0)
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if up == 0 {
			return fmt.Errorf("run %d: no ping answered within 10 s", i+1)
		}
		times = append(times, up)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	fmt.Printf("startup runs=%d min_ms=%s p50_ms=%s max_ms=%s\n", runs, ms(times[0]), ms(pct(times, 0.5)), ms(times[len(times)-1]))
	return nil
}
