package rtc

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHubFanOutAndOverflow(t *testing.T) {
	h := NewHub()
	fast, _ := h.Subscribe()
	slow, _ := h.Subscribe()
	for i := range EventBuffer {
		h.Publish(Event{SessionID: "s", Kind: EventICEState, State: string(rune('a' + i%26))})
		<-fast.Events()
	}
	select {
	case <-slow.Overflow():
		t.Fatal("cut off while within its buffer")
	default:
	}
	h.Publish(Event{SessionID: "s", Kind: EventClosed})
	select {
	case <-slow.Overflow():
	default:
		t.Fatal("slow watcher not cut off")
	}
	if e := <-fast.Events(); e.Kind != EventClosed {
		t.Fatalf("fast got %+v", e)
	}
	fast.Close()
	h.Publish(Event{}) // no watcher left: must not block

	late, _ := h.Subscribe()
	h.Publish(Event{SessionID: "x"})
	h.Close()
	if e, ok := <-late.Events(); !ok || e.SessionID != "x" {
		t.Fatal("event lost at close")
	}
	if _, ok := <-late.Events(); ok {
		t.Fatal("events not closed")
	}
	if _, err := h.Subscribe(); err != ErrShutdown {
		t.Fatalf("subscribe after close: %v", err)
	}
}

func TestValidateSessionID(t *testing.T) {
	for _, ok := range []string{"a", "s_123-ABC", string(make([]byte, 0)) + "x"} {
		if ValidateSessionID(ok) != nil {
			t.Errorf("%q refused", ok)
		}
	}
	long := make([]byte, MaxSessionIDLen+1)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", "a b", "a/b", "é", "a\x00", string(long)} {
		if ValidateSessionID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if ValidateSessionID(string(long[:MaxSessionIDLen])) != nil {
		t.Errorf("%d bytes refused", MaxSessionIDLen)
	}
}

func TestRedactSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"dropping candidate with ufrag abcd because": "dropping candidate with ufrag [redacted] because",
		"pwd: s3cr3t":      "pwd: [redacted]",
		"username=alice x": "username=[redacted] x",
		"nothing here":     "nothing here",
	} {
		if got := redactSecrets(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
