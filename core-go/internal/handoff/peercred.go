package handoff

import (
	"fmt"
	"log/slog"
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

// Guard is lis with every connection from a peer that p refuses closed at
// once (logged), so a server on it (porthole-core's gRPC) never reads a
// byte from another user. Accept returns only accepted peers.
func (p Policy) Guard(lis net.Listener, log *slog.Logger) net.Listener {
	return &guarded{Listener: lis, policy: p, log: log}
}

type guarded struct {
	net.Listener
	policy Policy
	log    *slog.Logger
}

func (g *guarded) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			return c, nil // not a unix socket: nothing to check (tests on TCP)
		}
		cred, err := peerCred(uc)
		if err == nil {
			err = g.policy.check(cred)
		}
		if err == nil {
			return c, nil
		}
		g.log.Warn("connection refused", "peer_pid", cred.PID, "peer_uid", cred.UID, "err", err)
		c.Close()
	}
}
