package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// staleDialTimeout bounds the probe of an existing socket file: a live
// server answers a local connect at once.
const staleDialTimeout = 500 * time.Millisecond

// listenUnix listens on a unix stream socket at path with mode 0600. A
// stale socket file (nobody listening) is replaced; a live one or any other
// kind of file is an error.
func listenUnix(path string) (net.Listener, error) {
	return listenUnixNet("unix", path)
}

// listenUnixPacket is listenUnix for a SOCK_SEQPACKET socket (the
// descriptor handoff socket), under the same rules.
func listenUnixPacket(path string) (*net.UnixListener, error) {
	lis, err := listenUnixNet("unixpacket", path)
	if err != nil {
		return nil, err
	}
	return lis.(*net.UnixListener), nil
}

// listenUnixNet is listenUnix for network "unix" or "unixpacket"; the
// stale probe dials the same type (a stream dial to a packet socket fails
// and would take a live server for a stale one).
func listenUnixNet(network, path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout(network, path, staleDialTimeout); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another server is listening", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Create the socket without group/other permissions from the start,
	// then make sure of 0600 whatever the umask was.
	old := syscall.Umask(0o177)
	lis, err := net.Listen(network, path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		return nil, err
	}
	return lis, nil
}
