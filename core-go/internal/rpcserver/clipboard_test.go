package rpcserver

import (
	"encoding/json"
	"strings"
	"testing"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/screen/xvfbtest"
)

func clipEvent(dir string, bytes uint64, code string) func(*rpcv1.SessionEvent) bool {
	return func(e *rpcv1.SessionEvent) bool {
		c := e.GetClipboard()
		return c != nil && c.GetDirection() == dir && c.GetBytes() == bytes && c.GetCode() == code
	}
}

// The `clipboard` channel end to end over gRPC and pion: a paste from the
// peer is what X clients paste, a copy on the display reaches the peer,
// and each is a ClipboardTransfer event with its size.
func TestScreenClipboard(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	h := newHarness(t, loopbackRTC())
	p := newScreenPeerOn(t, "clipboard")
	h.createWith("clip", p.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{
		Display: d, AllowInput: true, AllowClipboardRead: true,
	}})
	p.WaitOpen()
	p.SendText(`{"type":"clipboard","text":"from the page ✓"}`)
	if m := p.Next(); string(m.Data) != `{"type":"clipboard_set","bytes":17}` {
		t.Fatalf("reply %s", m.Data)
	}
	if got := xvfbtest.Paste(t, d, "CLIPBOARD"); got != "from the page ✓" {
		t.Fatalf("X client pasted %q", got)
	}
	h.waitEvent("clip", "clipboard to_remote", clipEvent("to_remote", 17, ""))

	text := strings.Repeat("copied on the display\n", 1000) // 22 KB: three messages
	xvfbtest.Copy(t, d, text)
	var got strings.Builder
	for {
		var m struct {
			Type, Text string
			More       bool
		}
		if err := json.Unmarshal(p.Next().Data, &m); err != nil || m.Type != "clipboard" {
			t.Fatalf("message %+v (%v)", m, err)
		}
		got.WriteString(m.Text)
		if !m.More {
			break
		}
	}
	if got.String() != text {
		t.Fatalf("peer got %d bytes, want %d", got.Len(), len(text))
	}
	h.waitEvent("clip", "clipboard from_remote", clipEvent("from_remote", uint64(len(text)), ""))
}

// A view-only session (no allow_input) may not write the display's
// clipboard: refused with clipboard_not_allowed, and audited as such.
func TestScreenClipboardViewOnly(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	h := newHarness(t, loopbackRTC())
	p := newScreenPeerOn(t, "clipboard")
	h.createWith("clipview", p.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{Display: d}})
	p.WaitOpen()
	p.SendText(`{"type":"clipboard","text":"nope"}`)
	if m := p.Next(); !strings.Contains(string(m.Data), `"clipboard_not_allowed"`) {
		t.Fatalf("reply %s", m.Data)
	}
	h.waitEvent("clipview", "refused clipboard", clipEvent("to_remote", 4, "clipboard_not_allowed"))
}
