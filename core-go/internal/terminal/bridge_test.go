package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeChannel records what the bridge sends and lets the test set the
// buffered amount.
type fakeChannel struct {
	mu       sync.Mutex
	text     []string
	binary   [][]byte
	buffered uint64
}

func (f *fakeChannel) Send(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.binary = append(f.binary, append([]byte(nil), p...))
	f.buffered += uint64(len(p))
	return nil
}

func (f *fakeChannel) SendText(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.text = append(f.text, s)
	f.buffered += uint64(len(s))
	return nil
}

func (f *fakeChannel) BufferedAmount() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buffered
}

func (f *fakeChannel) setBuffered(n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buffered = n
}

func (f *fakeChannel) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.text...)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBridgeWaitsForLowMark(t *testing.T) {
	ch := &fakeChannel{}
	b := NewBridge(ch, true, discard, nil)
	ch.setBuffered(HighWaterMark + 1)
	done := make(chan error, 1)
	go func() { done <- b.Output(context.Background(), []byte("x")) }()
	select {
	case err := <-done:
		t.Fatalf("wrote above the high mark: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ch.setBuffered(HighWaterMark - 1) // below high but above low: still waiting
	b.NotifyBufferedLow()
	select {
	case err := <-done:
		t.Fatalf("resumed above the low mark: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ch.setBuffered(lowMarkOf(MinHighWaterMark)) // the marks start at the floor
	b.NotifyBufferedLow()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Shutdown unblocks a waiting writer.
	ch.setBuffered(HighWaterMark + 1)
	go func() { done <- b.Output(context.Background(), []byte("y")) }()
	b.Shutdown("closed_by_agent")
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	if b.Reason() != "closed_by_agent" {
		t.Fatal(b.Reason())
	}
}

func TestBridgePeerMessages(t *testing.T) {
	ch := &fakeChannel{}
	closed := make(chan struct{})
	b := NewBridge(ch, false, discard, func() { close(closed) })
	b.HandleMessage([]byte(`{"type":"ping"}`), true)
	b.HandleMessage([]byte(`{"type":"nope"}`), true)
	b.HandleMessage([]byte(`{"type":"input","data":"a"}`), true)
	b.HandleMessage([]byte{1, 2}, false)
	b.HandleMessage([]byte(`{"type":"close"}`), true)
	<-closed
	got := ch.texts()
	if len(got) != 2 || got[0] != `{"type":"pong"}` {
		t.Fatalf("replies %q", got)
	}
	var e struct{ Type, Code string }
	if err := json.Unmarshal([]byte(got[1]), &e); err != nil || e.Type != "error" || e.Code != CodeBadMessage {
		t.Fatalf("error reply %q", got[1])
	}
	if m := <-b.Frames(); string(m.Data) != "a" {
		t.Fatalf("%+v", m)
	}
	if m := <-b.Frames(); string(m.Data) != "\x01\x02" {
		t.Fatalf("%+v", m)
	}
}

func TestBridgeQueueBlocksUntilShutdown(t *testing.T) {
	b := NewBridge(&fakeChannel{}, false, discard, nil)
	for range PeerQueueLen {
		b.HandleMessage([]byte(`{"type":"input","data":"k"}`), true)
	}
	done := make(chan struct{})
	go func() {
		b.HandleMessage([]byte(`{"type":"input","data":"k"}`), true)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("queue not bounded")
	case <-time.After(50 * time.Millisecond):
	}
	b.Shutdown("peer_closed")
	<-done
}

func TestBridgeExitFlushesTail(t *testing.T) {
	ch := &fakeChannel{}
	b := NewBridge(ch, false, discard, nil)
	if err := b.Attach(); err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(); !errors.Is(err, ErrAlreadyAttached) {
		t.Fatal(err)
	}
	if !b.AgentPending() {
		t.Fatal("agent not pending")
	}
	ctx := context.Background()
	_ = b.Output(ctx, []byte("ok \xe2\x82")) // incomplete €
	if err := b.Exit(ctx, 7); err != nil {
		t.Fatal(err)
	}
	got := ch.texts()
	want := []string{`{"type":"output","data":"ok "}`, "{\"type\":\"output\",\"data\":\"\uFFFD\uFFFD\"}", `{"type":"exit","code":7}`}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("got %q", got)
	}
	select {
	case <-b.AgentDone():
	default:
		t.Fatal("agent not done after exit")
	}
	if err := b.Output(ctx, make([]byte, MaxAgentOutput+1)); !errors.Is(err, ErrOutputTooLarge) {
		t.Fatal(err)
	}
	b.Detach()
	if err := b.Attach(); !errors.Is(err, ErrDetached) {
		t.Fatal(err)
	}
}

// Issue 14 item 5: a peer that stops reading and sends pings or bad
// messages must not grow our send buffer. Replies wait like output does.
func TestBridgeRepliesWaitForRoom(t *testing.T) {
	for _, msg := range []string{`{"type":"ping"}`, `{"type":"nope"}`, "not json"} {
		ch := &fakeChannel{}
		b := NewBridge(ch, false, discard, nil)
		ch.setBuffered(HighWaterMark + 1)
		done := make(chan struct{})
		go func() {
			b.HandleMessage([]byte(msg), true)
			close(done)
		}()
		select {
		case <-done:
			t.Fatalf("%s: replied above the high-water mark (%d replies)", msg, len(ch.texts()))
		case <-time.After(50 * time.Millisecond):
		}
		ch.setBuffered(lowMarkOf(MinHighWaterMark)) // the marks start at the floor
		b.NotifyBufferedLow()
		<-done
		if got := ch.texts(); len(got) != 1 {
			t.Fatalf("%s: replies %q", msg, got)
		}

		// Shutdown releases a read loop waiting to reply, without sending.
		ch.setBuffered(HighWaterMark + 1)
		done = make(chan struct{})
		go func() {
			b.HandleMessage([]byte(msg), true)
			close(done)
		}()
		b.Shutdown("peer_closed")
		<-done
		if got := ch.texts(); len(got) != 1 {
			t.Fatalf("%s: replied after shutdown: %q", msg, got)
		}
	}
}
