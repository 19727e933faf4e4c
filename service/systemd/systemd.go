// Package systemd speaks the two small systemd protocols the daemon needs,
// written by hand to stay dependency-free: socket activation (LISTEN_FDS)
// and readiness notification (sd_notify over $NOTIFY_SOCKET).
package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// listenFDsStart is the first file descriptor systemd passes.
const listenFDsStart = 3

// ListenFDs returns the sockets systemd passed to this process, or nil if
// it was not socket-activated. The variables are unset so that children
// do not inherit them.
func ListenFDs() ([]*os.File, error) {
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()
	if pid == "" || fds == "" {
		return nil, nil
	}
	if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
		return nil, nil // meant for another process
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("LISTEN_FDS=%q is not a count", fds)
	}
	files := make([]*os.File, n)
	for i := range files {
		fd := listenFDsStart + i
		files[i] = os.NewFile(uintptr(fd), "LISTEN_FD_"+strconv.Itoa(fd))
	}
	return files, nil
}

// Notify sends state (e.g. "READY=1") to the service manager. It does
// nothing when the process was not started with Type=notify.
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // abstract namespace
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}
