package clipboard

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// memSel is the display's selection as the handler sees it: what was set.
type memSel struct {
	got  []string
	fail error
}

func (m *memSel) Set(text []byte) error {
	if m.fail != nil {
		return m.fail
	}
	m.got = append(m.got, string(text))
	return nil
}

func code(t *testing.T, reply []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(reply, &m); err != nil {
		t.Fatalf("reply %q: %v", reply, err)
	}
	if m["type"] != "error" {
		return ""
	}
	return m["code"].(string)
}

func msg(text string, more bool) []byte {
	b, _ := json.Marshal(map[string]any{"type": "clipboard", "text": text, "more": more})
	return b
}

// Pieces are joined in order; only the last one is set and answered.
func TestHandlerJoinsPieces(t *testing.T) {
	sel := &memSel{}
	var audit []Transfer
	h := NewHandler(sel, false, func(tr Transfer) { audit = append(audit, tr) })
	for _, p := range []string{"a", "é", "✓"} {
		if r := h.Handle(msg(p, true), true); r != nil {
			t.Fatalf("reply to a piece: %s", r)
		}
	}
	if r := string(h.Handle(msg("!", false), true)); r != `{"type":"clipboard_set","bytes":7}` {
		t.Fatalf("reply %s", r)
	}
	if len(sel.got) != 1 || sel.got[0] != "aé✓!" || len(audit) != 1 || audit[0] != (Transfer{ToRemote, 7, "", 0}) {
		t.Fatalf("set %q, audit %+v", sel.got, audit)
	}
	sel.fail = ErrDisplayLost
	if c := code(t, h.Handle(msg("x", false), true)); c != "display_lost" {
		t.Fatalf("lost display: %q", c)
	}
	sel.fail = errors.New("kept")
	if c := code(t, h.Handle(msg("x", false), true)); c != CodeClipboardFailed {
		t.Fatalf("X refusal: %q", c)
	}
}

// Refused writes of a view-only session are audited at most once a second,
// with the count; Flush records the rest.
func TestHandlerRefusalsRateLimited(t *testing.T) {
	var audit []Transfer
	h := NewHandler(nil, false, func(tr Transfer) { audit = append(audit, tr) })
	now := time.Unix(1000, 0)
	h.now = func() time.Time { return now }
	for range 5 {
		if c := code(t, h.Handle(msg("nope", false), true)); c != CodeClipboardNotAllowed {
			t.Fatalf("code %q", c)
		}
	}
	now = now.Add(refusedGap)
	h.Handle(msg("nope", false), true)
	h.Handle(msg("nope", false), true)
	h.Flush()
	attempts := 0
	for _, a := range audit {
		attempts += a.Attempts
	}
	if len(audit) != 3 || attempts != 7 || audit[1].Attempts != 5 {
		t.Fatalf("audit %+v", audit)
	}
}

// The display's copies go to the page only with read allowed and an open
// channel, cut in pieces under the message limit.
func TestHandlerCopied(t *testing.T) {
	var sent [][]byte
	var audit []Transfer
	h := NewHandler(nil, true, func(tr Transfer) { audit = append(audit, tr) })
	h.Copied([]byte("before the channel"), false, 0)
	h.Attach(func(b []byte) error { sent = append(sent, b); return nil })
	text := strings.Repeat("<\x01é", 10000) // escapes: \u003c and \u0001 are 6 bytes each
	h.Copied([]byte(text), false, 0)
	var got strings.Builder
	for i, b := range sent {
		if len(b) > MaxMessageSize {
			t.Fatalf("message %d: %d bytes", i, len(b))
		}
		var m struct {
			Text string
			More bool
		}
		_ = json.Unmarshal(b, &m)
		got.WriteString(m.Text)
		if m.More != (i < len(sent)-1) {
			t.Fatalf("message %d: more=%v", i, m.More)
		}
	}
	if got.String() != text || len(audit) != 1 || audit[0].Bytes != len(text) {
		t.Fatalf("joined %d bytes, audit %+v", got.Len(), audit)
	}
	h.Copied(nil, true, 0) // not text: nothing
	h.Copied(nil, true, MaxText+1)
	if len(sent) == 0 || code(t, sent[len(sent)-1]) != CodeClipboardTooLarge || len(audit) != 2 {
		t.Fatalf("too large: audit %+v", audit)
	}
	ro := NewHandler(nil, false, func(Transfer) { t.Fatal("audited a copy not sent") })
	ro.Attach(func([]byte) error { t.Fatal("sent without read"); return nil })
	ro.Copied([]byte("secret"), false, 0)
}
