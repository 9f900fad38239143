package rpcserver

import (
	"strings"
	"testing"
	"time"

	"porthole/core-go/internal/terminal"
	"porthole/core-go/internal/testpeer"
)

// Issue 14 item 5, the attack: a peer that stops reading and streams
// messages that each get a reply. Before the fix every reply went into
// SCTP's unbounded send queue; now the read loop waits while the channel is
// above its high-water mark, and SCTP pushes the peer back.
func TestReplyFloodIsBounded(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("reply-flood", testpeer.Options{})
	p.Block()

	// ~120-byte error replies; 40000 of them are ~4.7 MB, well past the
	// high-water mark plus the peer's 1 MiB SCTP receive buffer.
	const n = 40000
	bad := `{"type":"` + strings.Repeat("x", 64) + `"}`
	for range n {
		p.SendText(bad)
	}

	// Wait until the sidecar's send buffer stops moving.
	buffered := func() uint64 { return h.stats("reply-flood").GetChannels()[0].GetBufferedAmount() }
	deadline := time.Now().Add(wait)
	last, since := buffered(), time.Now()
	for time.Since(since) < stallWindow {
		if time.Now().After(deadline) {
			t.Fatalf("buffered amount never settled (%d)", last)
		}
		time.Sleep(50 * time.Millisecond)
		if b := buffered(); b != last {
			last, since = b, time.Now()
		}
	}
	t.Logf("sidecar buffered %d KiB, peer still holds %d KiB", last>>10, p.DC.BufferedAmount()>>10)
	if last > terminal.HighWaterMark+terminal.MaxOutputChunk {
		t.Fatalf("replies grew the send buffer to %d bytes", last)
	}
	// The high mark adapts to the drain rate and falls as the peer's
	// receive window closes: a blocked writer waits above the low mark,
	// at least MinLowWaterMark.
	if last < terminal.MinLowWaterMark {
		t.Fatalf("buffered amount %d: the replies never filled the channel", last)
	}
	if p.DC.BufferedAmount() == 0 {
		t.Fatal("the peer was not pushed back: all its messages were taken")
	}

	// The session survives: once the peer reads again, it gets its pong.
	p.Unblock()
	p.SendText(`{"type":"ping"}`)
	for {
		m := decode(t, p.Next())
		if m.Type == "pong" {
			break
		}
		if m.Type != "error" || m.Code != "bad_message" {
			t.Fatalf("unexpected %+v", m)
		}
	}
}
