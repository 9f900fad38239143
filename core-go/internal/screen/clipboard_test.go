package screen

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"porthole/core-go/internal/screen/clipboard"
	"porthole/core-go/internal/screen/xvfbtest"
)

type clipPeer struct {
	mu        sync.Mutex
	msgs      chan map[string]any
	transfers []clipboard.Transfer
}

func newClipPeer() *clipPeer { return &clipPeer{msgs: make(chan map[string]any, 1000)} }

func (p *clipPeer) send(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	if len(b) > clipboard.MaxMessageSize {
		panic("message over the limit")
	}
	p.msgs <- m
	return nil
}

func (p *clipPeer) audit(tr clipboard.Transfer) {
	p.mu.Lock()
	p.transfers = append(p.transfers, tr)
	p.mu.Unlock()
}

func (p *clipPeer) audited() []clipboard.Transfer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]clipboard.Transfer(nil), p.transfers...)
}

// next reads the page's next message (a whole text reassembled).
func (p *clipPeer) next(t *testing.T) map[string]any {
	t.Helper()
	var text strings.Builder
	for {
		select {
		case m := <-p.msgs:
			if m["type"] != "clipboard" {
				return m
			}
			text.WriteString(m["text"].(string))
			if m["more"] != true {
				return map[string]any{"type": "clipboard", "text": text.String()}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no clipboard message")
		}
	}
}

func openClip(t *testing.T, display string, allowInput, read bool) (*Clipboard, *clipPeer) {
	t.Helper()
	cfg, _ := Config{Display: display, AllowInput: allowInput, AllowClipboardRead: read}.WithDefaults()
	p := newClipPeer()
	c, err := NewClipboard(cfg, p.audit, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.Handler.Attach(p.send)
	return c, p
}

// A copy made by another X client reaches the page, small, large (INCR)
// and over the limit (refused with its size); the audit has sizes only.
func TestClipboardFromRemote(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	_, p := openClip(t, d, true, true)
	small := "héllo wörld ✓ <&>"
	xvfbtest.Copy(t, d, small)
	if m := p.next(t); m["text"] != small {
		t.Fatalf("got %v, want %q", m, small)
	}
	large := strings.Repeat("0123456789abcdé\n", 20000) // 340 KB: Tk sends it by INCR
	xvfbtest.Copy(t, d, large)
	if m := p.next(t); m["text"] != large {
		t.Fatalf("large copy: got %d bytes, want %d", len(m["text"].(string)), len(large))
	}
	huge := strings.Repeat("x", clipboard.MaxText+1)
	xvfbtest.Copy(t, d, huge)
	if m := p.next(t); m["type"] != "error" || m["code"] != clipboard.CodeClipboardTooLarge {
		t.Fatalf("huge copy: got %v", m)
	}
	want := []clipboard.Transfer{
		{Direction: clipboard.FromRemote, Bytes: len(small)},
		{Direction: clipboard.FromRemote, Bytes: len(large)},
	}
	got := p.audited()
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2].Code != clipboard.CodeClipboardTooLarge ||
		got[2].Bytes < clipboard.MaxText {
		t.Fatalf("audit %+v", got)
	}
}

func clipMsg(text string, more bool) []byte {
	b, _ := json.Marshal(map[string]any{"type": "clipboard", "text": text, "more": more})
	return b
}

// Text from the page, in one message or several, is what the display's
// clients paste from CLIPBOARD and PRIMARY; over the limit it is refused.
func TestClipboardToRemote(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	c, p := openClip(t, d, true, false)
	text := "pasted ✓ from the page"
	if r := string(c.Handler.Handle(clipMsg(text, false), true)); r != `{"type":"clipboard_set","bytes":24}` {
		t.Fatalf("reply %s", r)
	}
	for _, sel := range []string{"CLIPBOARD", "PRIMARY"} {
		if got := xvfbtest.Paste(t, d, sel); got != text {
			t.Fatalf("%s: %q, want %q", sel, got, text)
		}
	}
	// 600 KB in 20 messages, read back whole (sent to Tk by INCR).
	part := strings.Repeat("abcdefghij", 3000)
	for i := range 19 {
		if r := c.Handler.Handle(clipMsg(part, true), true); r != nil {
			t.Fatalf("part %d: %s", i, r)
		}
	}
	c.Handler.Handle(clipMsg(part, false), true)
	if got := xvfbtest.Paste(t, d, "CLIPBOARD"); got != strings.Repeat(part, 20) {
		t.Fatalf("read back %d bytes, want %d", len(got), 20*len(part))
	}
	big := strings.Repeat("y", 40000)
	for range 27 {
		if r := c.Handler.Handle(clipMsg(big, true), true); r != nil {
			t.Fatalf("reply mid-way: %s", r)
		}
	}
	if code := replyCode(t, c.Handler.Handle(clipMsg("end", false), true)); code != clipboard.CodeClipboardTooLarge {
		t.Fatalf("over the limit: %q", code)
	}
	got := p.audited()
	if len(got) != 3 || got[0] != (clipboard.Transfer{Direction: clipboard.ToRemote, Bytes: len(text)}) ||
		got[1].Bytes != 20*len(part) || got[2].Code != clipboard.CodeClipboardTooLarge || got[2].Bytes != 27*40000+3 {
		t.Fatalf("audit %+v", got)
	}
	// Read not allowed: a copy on the display does not reach the page.
	xvfbtest.Copy(t, d, "secret")
	c.Handler.Handle(clipMsg("after", false), true) // a round trip through the loop
	select {
	case m := <-p.msgs:
		t.Fatalf("copy sent without read permission: %v", m)
	default:
	}
}

// A view-only session (no input) may not write the display's clipboard:
// every write is refused with its code, audited (rate limited), and the
// display keeps its selection.
func TestClipboardViewOnlyRefused(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	xvfbtest.Copy(t, d, "theirs")
	c, p := openClip(t, d, false, false)
	for range 3 {
		if code := replyCode(t, c.Handler.Handle(clipMsg("mine", false), true)); code != clipboard.CodeClipboardNotAllowed {
			t.Fatalf("view-only write: %q", code)
		}
	}
	for msg, code := range map[string]string{`nope`: "bad_message", `{"type":"clipboard"}`: "bad_message"} {
		if got := replyCode(t, c.Handler.Handle([]byte(msg), true)); got != code {
			t.Fatalf("%s: %q, want %q", msg, got, code)
		}
	}
	if got := xvfbtest.Paste(t, d, "CLIPBOARD"); got != "theirs" {
		t.Fatalf("display clipboard now %q", got)
	}
	c.Close()
	got := p.audited()
	if len(got) != 2 || got[0].Code != clipboard.CodeClipboardNotAllowed || got[0].Attempts != 1 || got[1].Attempts != 2 {
		t.Fatalf("audit %+v", got)
	}
}

// A paste while a copy on the display is being delivered (and the other way
// round) completes: the X loop and the page's messages share no lock.
func TestClipboardPasteDuringCopies(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	c, p := openClip(t, d, true, true)
	replies := make(chan string, 20)
	go func() {
		for range 20 {
			replies <- string(c.Handler.Handle(clipMsg(strings.Repeat("p", 50000), false), true))
		}
	}()
	for i := range 3 {
		xvfbtest.Copy(t, d, strings.Repeat("copy", 5000+i))
	}
	for i := range 20 {
		select {
		case r := <-replies:
			if !strings.Contains(r, "clipboard_set") {
				t.Fatalf("paste %d: %s", i, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("paste %d never answered (deadlock?)", i)
		}
	}
	for len(p.msgs) > 0 {
		<-p.msgs
	}
}
