// Command floor is the smallest Go program that answers Parsec's Ping: it
// listens on the socket given as its argument and answers every
// connection with a fixed Ping result, whatever was asked. It parses
// nothing and checks nothing. scripts/bench.sh measures its start-up and
// idle memory beside the real services, as the floor that any Go service
// pays on the machine at hand (runtime start, page faults, a static
// binary's pages), so that the service's own share can be told apart.
//
//	floor /path/to/parsec.sock
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor SOCKET")
		os.Exit(2)
	}
	path := os.Args[1]
	os.Remove(path)
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err == nil {
		err = syscall.Bind(fd, &syscall.SockaddrUnix{Name: path})
	}
	if err == nil {
		err = syscall.Listen(fd, 128)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	resp := pingResult()
	buf := make([]byte, 4096)
	for {
		c, _, err := syscall.Accept4(fd, syscall.SOCK_CLOEXEC)
		if err != nil {
			continue
		}
		syscall.Read(c, buf)
		syscall.Write(c, resp)
		syscall.Close(c)
	}
}

// pingResult is a Parsec 1.0 response header (opcode Ping, status
// Success) and a PingResult body saying wire protocol 1.0.
func pingResult() []byte {
	b := make([]byte, 36, 40)
	binary.LittleEndian.PutUint32(b[0:], 0x5EC0A710) // magic
	binary.LittleEndian.PutUint16(b[4:], 30)         // header size
	b[6] = 1                                         // version 1.0
	body := []byte{0x08, 0x01}                       // wire_protocol_version_maj = 1
	binary.LittleEndian.PutUint32(b[22:], uint32(len(body)))
	return append(b, body...)
}
