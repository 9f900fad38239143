package terminal

import (
	"sync"
	"time"
)

// drainMark is the bridge's adaptive high-water mark: it bounds what sits in
// the channel's send buffer (SCTP's queue, acknowledged or not) by time at
// the rate the peer drains it, so that after Ctrl-C a slow peer sees at most
// about BufferedTimeTarget of old output, while a fast peer keeps today's
// byte mark (HighWaterMark) and its throughput.
//
// The rate is measured while the writer waits: from the moment the buffered
// amount is above the mark until it fell to the low mark the buffer is never
// empty, so what left it (bytes acknowledged) over that time is the rate the
// link and the peer take, not the rate the program writes. One short wait
// says little: a token bucket that was full, or a cumulative acknowledgement
// that covers a retransmitted packet and everything after it, empties a few
// KiB at once. So the mark grows only from the rate over at least
// rateWindow bytes drained (summed over waits), which such a burst barely
// moves; it falls at once when one wait drained slower than the mark
// assumes (a link that slowed down, a peer that stopped reading). Either
// way it becomes that rate × BufferedTimeTarget, clamped to
// [MinHighWaterMark, HighWaterMark]. It starts at the floor: a fast link
// reaches the ceiling once rateWindow went through (a few milliseconds), a
// slow one holds the floor meanwhile.
type drainMark struct {
	now func() time.Time // injected by tests

	mu      sync.Mutex // guards the fields below
	high    uint64
	drained uint64        // bytes drained in the waits since the mark last moved
	waited  time.Duration // the time those waits took
}

// rateWindow is how many drained bytes the mark grows from: several times
// the bursts above (a 32 KiB token bucket, a 16 KiB message).
const rateWindow = 128 << 10

func newDrainMark(now func() time.Time) *drainMark {
	return &drainMark{now: now, high: MinHighWaterMark}
}

// marks returns the current high and low marks.
func (d *drainMark) marks() (high, low uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.high, lowMarkOf(d.high)
}

// drainWait is one wait of the writer, from above the high mark to the low
// mark.
type drainWait struct {
	start    time.Time
	buffered uint64
}

// begin starts a measurement: the writer found buffered above the mark.
func (d *drainMark) begin(buffered uint64) drainWait {
	return drainWait{start: d.now(), buffered: buffered}
}

// end closes a measurement: the buffer fell to buffered. Nothing was sent
// in between by the waiting writer, so what left the buffer was delivered.
func (d *drainMark) end(w drainWait, buffered uint64) {
	elapsed := d.now().Sub(w.start)
	if elapsed <= 0 || buffered >= w.buffered {
		return // no measurable drain (a coarse clock, or a reply sent meanwhile)
	}
	drained := w.buffered - buffered
	d.mu.Lock()
	defer d.mu.Unlock()
	if mark := markForRate(float64(drained) / elapsed.Seconds()); mark < d.high {
		d.set(mark) // slower than the mark assumes: fall at once
		return
	}
	d.drained += drained
	d.waited += elapsed
	if d.drained >= rateWindow {
		d.set(markForRate(float64(d.drained) / d.waited.Seconds()))
	}
}

func (d *drainMark) set(high uint64) {
	d.high = high
	d.drained, d.waited = 0, 0
}

// markForRate is BufferedTimeTarget of output at rate bytes per second,
// within [MinHighWaterMark, HighWaterMark].
func markForRate(rate float64) uint64 {
	want := rate * BufferedTimeTarget.Seconds()
	switch {
	case want <= MinHighWaterMark:
		return MinHighWaterMark
	case want >= HighWaterMark:
		return HighWaterMark
	}
	return uint64(want)
}

// lowMarkOf is where a waiting writer resumes: a quarter of the high mark
// (LowWaterMark for HighWaterMark), a gap that avoids waking for every
// acknowledged packet yet keeps the pipe busy while the writer wakes.
func lowMarkOf(high uint64) uint64 { return high / (HighWaterMark / LowWaterMark) } // MinLowWaterMark at the floor

// readSize is how much the pump reads from its descriptor at once: the low
// mark (at least minReadSize, at most PumpReadSize), so that what it holds
// between a read and its send is bounded by time as well (the buffer and
// the pump together hold at most 1.25 × BufferedTimeTarget), and a read
// fits in the buffer once it drained to the low mark.
func (d *drainMark) readSize() int {
	_, low := d.marks()
	return int(max(min(low, PumpReadSize), minReadSize))
}

// minReadSize is the smallest read: what a PTY hands out at once.
const minReadSize = 4 << 10
