package benchpeer

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The bench client's UDP sockets get RecvBuffer (the kernel reports double
// what was set): as root past net.core.rmem_max, else up to it.
func TestBufNetReceiveBuffer(t *testing.T) {
	n, err := newBufNet()
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	want := RecvBuffer
	if os.Geteuid() != 0 {
		b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
		if err != nil {
			t.Fatal(err)
		}
		max, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		want = min(want, max)
	}
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if got < want {
		t.Fatalf("SO_RCVBUF %d, want at least %d", got, want)
	}
}
