package terminal

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// drainOnce plays one wait of the writer on a link taking rate bytes per
// second: the buffer is a chunk above the high mark and drains to the low
// mark.
func drainOnce(d *drainMark, clock *fakeClock, rate float64) {
	high, low := d.marks()
	from := high + MaxOutputChunk
	w := d.begin(from)
	clock.advance(time.Duration(float64(from-low) / rate * float64(time.Second)))
	d.end(w, low)
}

func TestDrainMarkStartsAtTheFloor(t *testing.T) {
	d := newDrainMark(newFakeClock().now)
	if high, low := d.marks(); high != MinHighWaterMark || low != MinHighWaterMark/4 {
		t.Fatalf("marks %d/%d, want %d/%d", high, low, MinHighWaterMark, MinHighWaterMark/4)
	}
	if n := d.readSize(); n != minReadSize {
		t.Fatalf("read size %d, want %d", n, minReadSize)
	}
}

// Issue 14, 9: at 256 kbit/s the mark holds BufferedTimeTarget of output; a
// burst (a full token bucket) at the start moves it little.
func TestDrainMarkBoundsTimeOnASlowLink(t *testing.T) {
	const rate = 256_000 / 8 // bytes per second
	clock := newFakeClock()
	d := newDrainMark(clock.now)
	drainOnce(d, clock, 100*rate) // the bucket's burst
	for d.drained > 0 || d.high == MinHighWaterMark {
		if high, _ := d.marks(); high != MinHighWaterMark {
			t.Fatalf("mark %d before %d bytes drained, want the floor", high, rateWindow)
		}
		drainOnce(d, clock, rate)
	}
	want := uint64(rate * BufferedTimeTarget.Seconds())
	if high, _ := d.marks(); high < want || high > want*5/4 {
		t.Fatalf("mark %d after the burst and a window at %d B/s, want %d..%d", high, rate, want, want*5/4)
	}
	for range 20 { // a window at the link's rate alone
		drainOnce(d, clock, rate)
	}
	high, low := d.marks()
	if high != want || low != want/4 {
		t.Fatalf("marks %d/%d at %d B/s, want %d/%d", high, low, rate, want, want/4)
	}
	if n := d.readSize(); n != minReadSize {
		t.Fatalf("read size %d, want %d (the low mark %d is smaller)", n, minReadSize, low)
	}
}

func TestDrainMarkKeepsTheFloor(t *testing.T) {
	clock := newFakeClock()
	d := newDrainMark(clock.now)
	for _, rate := range []float64{4_000, 100, 1, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000} {
		drainOnce(d, clock, rate) // a stalled peer drains almost nothing
		if high, _ := d.marks(); high != MinHighWaterMark {
			t.Fatalf("mark %d at %.0f B/s, want the floor %d", high, rate, MinHighWaterMark)
		}
	}
}

func TestDrainMarkReachesTheCeilingOnAFastLink(t *testing.T) {
	clock := newFakeClock()
	d := newDrainMark(clock.now)
	waits := 0
	for d.high == MinHighWaterMark {
		drainOnce(d, clock, 100e6)
		waits++
	}
	// Each wait at the floor drains the floor plus a chunk, down to the low mark.
	perWait := MinHighWaterMark + MaxOutputChunk - MinHighWaterMark/4
	if want := (rateWindow + perWait - 1) / perWait; waits != want {
		t.Fatalf("left the floor after %d waits, want %d (%d bytes)", waits, want, rateWindow)
	}
	if high, low := d.marks(); high != HighWaterMark || low != LowWaterMark {
		t.Fatalf("marks %d/%d, want today's %d/%d", high, low, HighWaterMark, LowWaterMark)
	}
	if n := d.readSize(); n != PumpReadSize {
		t.Fatalf("read size %d, want %d", n, PumpReadSize)
	}
	// The link slows down: the mark follows after one wait.
	drainOnce(d, clock, 100_000)
	if high, _ := d.marks(); high != 40_000 {
		t.Fatalf("mark %d after a wait at 100 kB/s, want 40000", high)
	}
}

func TestDrainMarkIgnoresWaitsWithoutDrain(t *testing.T) {
	clock := newFakeClock()
	d := newDrainMark(clock.now)
	w := d.begin(100 << 10)
	d.end(w, 0) // no time passed (a coarse clock)
	w = d.begin(100 << 10)
	clock.advance(time.Millisecond)
	d.end(w, 200<<10) // the buffer grew (a reply was sent meanwhile)
	if high, _ := d.marks(); high != MinHighWaterMark {
		t.Fatalf("mark %d, want the floor", high)
	}
}

// thresholdChannel is a fakeChannel that records the OnBufferedAmountLow
// threshold the bridge sets.
type thresholdChannel struct {
	fakeChannel
	thresholds chan uint64
}

func (c *thresholdChannel) SetBufferedAmountLowThreshold(th uint64) { c.thresholds <- th }

// The bridge measures its waits, moves the channel's threshold to its low
// mark and sizes the pump's reads by it.
func TestBridgeAdaptsItsMarks(t *testing.T) {
	ch := &thresholdChannel{thresholds: make(chan uint64, 4)}
	clock := newFakeClock()
	b := NewBridge(ch, true, discard, nil)
	b.mark = newDrainMark(clock.now)
	if n := b.ReadSize(); n != minReadSize {
		t.Fatalf("read size %d, want %d", n, minReadSize)
	}
	b.mark.set(HighWaterMark) // as after a fast start

	ch.setBuffered(HighWaterMark + 1)
	done := make(chan error, 1)
	go func() { done <- b.Output(context.Background(), []byte("x")) }()
	if th := <-ch.thresholds; th != LowWaterMark {
		t.Fatalf("threshold %d, want the low mark %d", th, LowWaterMark)
	}
	clock.advance(10 * time.Second) // the link slowed down: 768 KiB in 10 s
	ch.setBuffered(LowWaterMark)
	b.NotifyBufferedLow()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	high, low := b.mark.marks()
	if want := markForRate(float64(HighWaterMark-LowWaterMark+1) / 10); high != want {
		t.Fatalf("high mark %d, want %d", high, want)
	}
	if n := b.ReadSize(); n != int(low) {
		t.Fatalf("read size %d, want the low mark %d", n, low)
	}

	// The next wait uses the new marks.
	ch.setBuffered(high + 1)
	go func() { done <- b.Output(context.Background(), []byte("y")) }()
	if th := <-ch.thresholds; th != low {
		t.Fatalf("threshold %d, want the new low mark %d", th, low)
	}
	b.Shutdown("closed_by_agent")
	if err := <-done; err == nil {
		t.Fatal("wrote above the high mark")
	}
}

// A message is sent when it fits under the high mark, or once the buffer is
// at the low mark (a message larger than the gap); else the writer waits.
func TestBridgeSendsWhatFitsUnderTheMark(t *testing.T) {
	ch := &fakeChannel{}
	b := NewBridge(ch, true, discard, nil)
	b.mark = newDrainMark(newFakeClock().now) // no time passes: the marks stay at the floor
	high, low := b.mark.marks()

	ch.setBuffered(high - 100)
	if err := b.Output(context.Background(), make([]byte, 100)); err != nil {
		t.Fatal(err) // fits exactly
	}
	ch.setBuffered(low)
	if err := b.Output(context.Background(), make([]byte, MaxOutputChunk)); err != nil {
		t.Fatal(err) // larger than the gap, but the buffer is at the low mark
	}

	ch.setBuffered(high - 100)
	done := make(chan error, 1)
	go func() { done <- b.Output(context.Background(), make([]byte, 101)) }()
	select {
	case err := <-done:
		t.Fatalf("sent past the high mark: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ch.setBuffered(low + 1) // under the high mark again, but not yet at the low one
	b.NotifyBufferedLow()
	select {
	case err := <-done:
		t.Fatalf("resumed above the low mark: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ch.setBuffered(low)
	b.NotifyBufferedLow()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
