package handoff

import (
	"fmt"
	"net"
	"slices"

	"golang.org/x/sys/unix"
)

// Policy is who may hand descriptors over, checked with SO_PEERCRED (the
// credentials of the process that connected, taken by the kernel at
// connect time).
type Policy struct {
	// UID the peer must run as: porthole-core's own.
	UID int
	// PIDs the peer must be one of; empty accepts any process of UID.
	// porthole-core passes its parent (the agent that launched it).
	PIDs []int
}

// Cred is a peer's credentials.
type Cred struct{ PID, UID, GID int }

func peerCred(c *net.UnixConn) (Cred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var uc *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		uc, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if serr != nil {
		return Cred{}, serr
	}
	return Cred{PID: int(uc.Pid), UID: int(uc.Uid), GID: int(uc.Gid)}, nil
}

// check says why a peer is refused, or nil.
func (p Policy) check(c Cred) error {
	if c.UID != p.UID {
		return fmt.Errorf("peer uid %d is not %d", c.UID, p.UID)
	}
	if len(p.PIDs) > 0 && !slices.Contains(p.PIDs, c.PID) {
		return fmt.Errorf("peer pid %d is not the agent (%v)", c.PID, p.PIDs)
	}
	return nil
}
