package rpcserver

import (
	"net"
	"strconv"
	"testing"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/testpeer"
)

// freeUDPPort returns a UDP port free on loopback right now.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// localPort connects a session and returns the sidecar's selected port.
func localPort(t *testing.T, h *harness, id string) int {
	t.Helper()
	p := h.connect(id, testpeer.Options{})
	a, _ := h.attach(id)
	a.output([]byte("x"))
	p.Next()
	st, err := h.client.GetStats(ctxT(t), &rpcv1.GetStatsRequest{SessionId: id})
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(st.GetSessions()[0].GetSelectedPair().GetLocalAddress())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return n
}

func TestICEPortSettings(t *testing.T) {
	t.Run("single port mux", func(t *testing.T) {
		cfg := loopbackRTC()
		cfg.UDPPort = freeUDPPort(t)
		h := newHarness(t, cfg)
		for _, id := range []string{"mux-1", "mux-2"} {
			if port := localPort(t, h, id); port != int(cfg.UDPPort) {
				t.Fatalf("%s: local port %d, want %d", id, port, cfg.UDPPort)
			}
		}
	})
	t.Run("port range", func(t *testing.T) {
		cfg := loopbackRTC()
		cfg.UDPPortMin, cfg.UDPPortMax = 42000, 42999
		h := newHarness(t, cfg)
		if port := localPort(t, h, "range"); port < 42000 || port > 42999 {
			t.Fatalf("local port %d outside the range", port)
		}
	})
}
