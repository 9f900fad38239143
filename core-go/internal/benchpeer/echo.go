package benchpeer

import (
	"math/rand/v2"
	"sync"
	"time"
)

// A keystroke pair that leaves the shell's line as it was: busybox ash (and
// bash) echo "x" for x, and "\b" plus an erase sequence for DEL after it.
var keystrokes = [2]struct{ key, echo byte }{{'x', 'x'}, {0x7f, '\b'}}

// EchoTimeout is how long one keystroke may wait for its echo before it is
// counted as lost; far above any round trip on one machine.
const EchoTimeout = 5 * time.Second

// EchoResult holds keystroke round trips in microseconds.
type EchoResult struct {
	RTTMicros []float64 `json:"rtt_us"`
	Lost      int       `json:"lost"`
}

// Echo types count keystrokes, one every interval (or as soon as the last
// echo came, when that was later), and times each until its echo arrives.
// warmup keystrokes go first and are not counted.
func (p *Peer) Echo(count, warmup int, interval time.Duration) (EchoResult, error) {
	return echo(p, count, warmup, interval)
}

func echo(t terminal, count, warmup int, interval time.Duration) (EchoResult, error) {
	res := EchoResult{RTTMicros: make([]float64, 0, count)}
	out := t.output()
	discard(out, 100*time.Millisecond, 2*time.Second)
	next := time.Now()
	for i := 0; i < warmup+count; i++ {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		k := keystrokes[i%2]
		start := time.Now()
		if err := t.Type([]byte{k.key}); err != nil {
			return res, err
		}
		err := waitFor(out, k.echo, EchoTimeout)
		rtt := time.Since(start)
		if i < warmup {
			continue
		}
		if err != nil {
			res.Lost++
			// The line may now be off by one character: put it back in a known state.
			_ = t.Type([]byte{0x15}) // Ctrl-U
			discard(out, 100*time.Millisecond, time.Second)
			continue
		}
		res.RTTMicros = append(res.RTTMicros, float64(rtt.Microseconds()))
	}
	return res, nil
}

// EchoMany runs Echo on every terminal at once (WebRTC peers, or docker execs
// read natively) for count keystrokes each, their schedules spread evenly
// over one interval, and merges the results.
func EchoMany[T terminal](ts []T, count, warmup int, interval time.Duration) (EchoResult, error) {
	var (
		mu       sync.Mutex
		all      EchoResult
		firstErr error
		wg       sync.WaitGroup
	)
	for _, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.Int64N(int64(interval))))
			r, err := echo(t, count, warmup, interval)
			mu.Lock()
			defer mu.Unlock()
			all.RTTMicros = append(all.RTTMicros, r.RTTMicros...)
			all.Lost += r.Lost
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return all, firstErr
}
