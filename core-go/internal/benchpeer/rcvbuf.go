package benchpeer

import (
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// RecvBuffer is the kernel receive buffer of the UDP sockets of the bench
// client's peers that receive floods (the throughput section). The client
// stands in for a browser on another machine, but here it shares the
// device's cores with porthole-core, dockerd and the shell: with the default
// buffer (net.core.rmem_default, 208 KiB, about 90 packets of 1.2 KB) a
// flood arriving while it waits for a core overflows the socket, the dropped
// packets stall SCTP for a retransmission timeout (1 s at least), and a
// throughput run measured the client's scheduling, not the device. Only
// those peers: the 200-session level of the concurrency section read a
// higher round-trip p99 with every peer on this network (25–30 ms against
// 7–17 ms in interleaved runs; the cause was not found).
const RecvBuffer = 8 << 20

// bufNet is pion's standard network whose UDP sockets get RecvBuffer.
type bufNet struct {
	*stdnet.Net
}

func newBufNet() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return bufNet{n}, nil
}

// ListenUDP is how pion/ice opens its host candidates' sockets.
func (n bufNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	return withRecvBuffer(n.Net.ListenUDP(network, laddr))
}

// ListenPacket covers the gatherer's other path (a UDP mux, TURN).
func (n bufNet) ListenPacket(network, address string) (net.PacketConn, error) {
	return withRecvBuffer(n.Net.ListenPacket(network, address))
}

// withRecvBuffer gives a socket just opened RecvBuffer, or closes it.
func withRecvBuffer[C io.Closer](c C, err error) (C, error) {
	if err != nil {
		return c, err
	}
	if err := setRecvBuffer(c, RecvBuffer); err != nil {
		_ = c.Close()
		var none C
		return none, err
	}
	return c, nil
}

// setRecvBuffer sets SO_RCVBUFFORCE (root: past net.core.rmem_max), else
// SO_RCVBUF (capped at rmem_max by the kernel). Not a UDP socket: nothing.
func setRecvBuffer(c any, size int) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		if serr != nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("receive buffer: %w", serr)
	}
	return nil
}
