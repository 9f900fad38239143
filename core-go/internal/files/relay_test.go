package files

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeDC struct {
	mu       sync.Mutex
	texts    []string
	bins     [][]byte
	buffered atomic.Uint64
	closed   bool
}

func (f *fakeDC) Send(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bins = append(f.bins, b)
	return nil
}

func (f *fakeDC) SendText(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.texts = append(f.texts, s)
	return nil
}
func (f *fakeDC) BufferedAmount() uint64 { return f.buffered.Load() }
func (f *fakeDC) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func TestRelayQueuesInOrderAndRefusesTooLarge(t *testing.T) {
	dc := &fakeDC{}
	r := NewRelay(dc, slog.Default())
	r.HandleMessage([]byte(`{"type":"upload"}`), true)
	r.HandleMessage(make([]byte, MaxMessage+1), false)
	r.HandleMessage([]byte{1, 2, 3}, false)
	if m := <-r.Incoming(); !m.Text || string(m.Data) != `{"type":"upload"}` {
		t.Fatalf("first message %+v", m)
	}
	if m := <-r.Incoming(); m.Text || len(m.Data) != 3 {
		t.Fatalf("second message %+v", m)
	}
	if len(dc.texts) != 1 || !strings.Contains(dc.texts[0], CodeTooLarge) {
		t.Fatalf("want a message_too_large error, got %q", dc.texts)
	}
	select {
	case <-r.Done():
		t.Fatal("a too large message must not close the channel")
	default:
	}
}

func TestRelayOverflowClosesTheChannel(t *testing.T) {
	dc := &fakeDC{}
	r := NewRelay(dc, slog.Default())
	for range Queue + 1 {
		r.HandleMessage([]byte{0}, false)
	}
	<-r.Done()
	if !dc.closed || len(dc.texts) != 1 || !strings.Contains(dc.texts[0], CodeOverflow) {
		t.Fatalf("closed=%v texts=%q", dc.closed, dc.texts)
	}
}

func TestRelaySendWaitsBelowHighWater(t *testing.T) {
	dc := &fakeDC{}
	dc.buffered.Store(HighWater + 1)
	r := NewRelay(dc, slog.Default())
	sent := make(chan error, 1)
	go func() { sent <- r.Send(context.Background(), Message{Data: []byte("x")}) }()
	select {
	case err := <-sent:
		t.Fatalf("sent above the high-water mark: %v", err)
	case <-time.After(3 * poll):
	}
	dc.buffered.Store(0)
	r.NotifyLow()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if len(dc.bins) != 1 {
		t.Fatalf("bins %d", len(dc.bins))
	}
	r.Close()
	if err := r.Send(context.Background(), Message{Data: []byte("y")}); err == nil {
		t.Fatal("send after close must fail")
	}
	if err := r.Send(context.Background(), Message{Data: make([]byte, MaxMessage+1)}); err != ErrTooLarge {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
}
