package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// staleDialTimeout bounds the probe of an existing socket file: a live
// server answers a local connect at once.
const staleDialTimeout = 500 * time.Millisecond

// listenUnix listens on a unix stream socket at path with mode 0600. A
// stale socket file (nobody listening) is replaced only when it is ours in a
// folder nobody else can write (so it is one an earlier porthole-core of ours
// left behind); a live one, another user's, or any other kind of file is an
// error: porthole-core never deletes a path it did not create.
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
		if err := ownedStale(path, fi); err != nil {
			return nil, err
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
	// Go would unlink the path on Close whatever it then names; main removes
	// it itself, only while it is still the file created here.
	if ul, ok := lis.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	sock := created(path)
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		_ = sock.removeIfSame()
		return nil, err
	}
	return lis, nil
}

// ownedStale is nil when the stale socket at path (fi its Lstat) is one we
// may remove: owned by our uid, in a folder owned by us or root that no
// group or other can write.
func ownedStale(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s exists and is not ours: refusing to remove it", path)
	}
	var dir syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(path), &dir); err != nil {
		return err
	}
	if (int(dir.Uid) != os.Getuid() && dir.Uid != 0) || dir.Mode&0o022 != 0 {
		return fmt.Errorf("%s exists in a folder others can write: refusing to remove it", path)
	}
	return nil
}

// createdSocket is a socket file this process created: removeIfSame
// deletes it only while path still names that file.
type createdSocket struct {
	path     string
	dev, ino uint64
	ctime    syscall.Timespec // an inode number can be reused at once
}

func created(path string) createdSocket {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return createdSocket{path: path}
	}
	return createdSocket{path: path, dev: uint64(st.Dev), ino: st.Ino, ctime: st.Ctim}
}

// removeIfSame removes the socket file unless it was replaced since (or
// never recorded): nil when there is nothing of ours to remove.
func (c createdSocket) removeIfSame() error {
	var st syscall.Stat_t
	if err := syscall.Lstat(c.path, &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	if c.ino == 0 || uint64(st.Dev) != c.dev || st.Ino != c.ino || st.Ctim != c.ctime {
		return fmt.Errorf("%s is no longer the socket we created: left in place", c.path)
	}
	return os.Remove(c.path)
}
