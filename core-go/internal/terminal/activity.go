package terminal

import (
	"sync/atomic"
	"time"
)

// Activity is what crossed a terminal channel: the agent's idle timeouts
// read it (SessionStats.terminal) when it no longer sees the bytes itself.
type Activity struct {
	// LastInput and LastOutput are zero before the first.
	LastInput, LastOutput time.Time
	InputBytes            uint64
	OutputBytes           uint64
	// InputRefused counts input messages dropped because their sender
	// has no control of a shared terminal (fanout.go).
	InputRefused uint64
}

// activity counts without locks: the read loop and the output writer
// update it on every message.
type activity struct {
	lastIn, lastOut atomic.Int64 // Unix nanoseconds, 0 = never
	in, out         atomic.Uint64
	refused         atomic.Uint64
}

func (a *activity) refuse() { a.refused.Add(1) }

func (a *activity) input(n int) {
	a.lastIn.Store(time.Now().UnixNano())
	a.in.Add(uint64(n))
}

func (a *activity) output(n int) {
	a.lastOut.Store(time.Now().UnixNano())
	a.out.Add(uint64(n))
}

func (a *activity) snapshot() Activity {
	return Activity{
		LastInput:    unixNano(a.lastIn.Load()),
		LastOutput:   unixNano(a.lastOut.Load()),
		InputBytes:   a.in.Load(),
		OutputBytes:  a.out.Load(),
		InputRefused: a.refused.Load(),
	}
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
