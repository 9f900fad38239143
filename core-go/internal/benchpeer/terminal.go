package benchpeer

import (
	"bytes"
	"fmt"
	"time"
)

// terminal is what the timing loops need of a shell: a WebRTC peer's
// `terminal` channel (Peer) or a docker exec read natively (Exec).
type terminal interface {
	// Type sends keystrokes.
	Type(b []byte) error
	// output yields what the shell printed, in chunks as they arrived.
	output() <-chan []byte
}

// discard drops output that arrived until out has been quiet for quiet (or
// until max has passed): the prompt, earlier echoes.
func discard(out <-chan []byte, quiet, max time.Duration) {
	end := time.After(max)
	for {
		select {
		case <-out:
		case <-time.After(quiet):
			return
		case <-end:
			return
		}
	}
}

// waitFor reads output until a chunk contains b (or the deadline passes).
func waitFor(out <-chan []byte, b byte, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case chunk, ok := <-out:
			if !ok {
				return fmt.Errorf("output ended: %w", ErrTimeout)
			}
			if bytes.IndexByte(chunk, b) >= 0 {
				return nil
			}
		case <-deadline.C:
			return ErrTimeout
		}
	}
}

// drain sends input (a command line) and reads output until marker has been
// seen; it returns the output bytes received and the time from sending to
// the marker.
func drain(t terminal, input, marker []byte, timeout time.Duration) (int64, time.Duration, error) {
	out := t.output()
	discard(out, 50*time.Millisecond, time.Second)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	start := time.Now()
	if err := t.Type(input); err != nil {
		return 0, 0, err
	}
	var n int64
	tail := make([]byte, 0, 2*len(marker)+64<<10)
	for {
		select {
		case chunk, ok := <-out:
			if !ok {
				return n, time.Since(start), fmt.Errorf("output ended after %d bytes, before the marker", n)
			}
			n += int64(len(chunk))
			tail = append(tail, chunk...)
			if bytes.Contains(tail, marker) {
				return n, time.Since(start), nil
			}
			if len(tail) > len(marker) {
				tail = append(tail[:0], tail[len(tail)-len(marker):]...)
			}
		case <-deadline.C:
			return n, time.Since(start), fmt.Errorf("marker after %d bytes: %w", n, ErrTimeout)
		}
	}
}
