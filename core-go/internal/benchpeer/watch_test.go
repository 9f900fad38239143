package benchpeer

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A watched peer's output is read as it comes (more than the queue holds never
// blocks), and its reader ends with the peer.
func TestWatchReadsUntilClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	p, _, err := NewPeer(NewAPI("lo", false), "", nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	p.Watch()
	p.Watch() // once: a second call only reports
	done := make(chan struct{})
	go func() {
		for i := 0; i < 2*outputQueue; i++ {
			p.out <- []byte("x")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("output queue not read while watched")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
