package terminal

import (
	"context"
	"sync"
	"time"
)

// RecordedChunk is one copy of bytes that crossed a handed-over terminal,
// or a gap (Dropped > 0, no Data) where the backlog was full.
type RecordedChunk struct {
	Time    time.Time
	Input   bool
	Data    []byte
	Dropped uint64
}

// Recorder is the bounded backlog between a Pump (which tees every byte
// into it and never waits) and the one agent stream that drains it.
// Nothing is dropped while the backlog stays under MaxRecordingBacklog;
// past it, bytes are counted into a gap chunk instead.
type Recorder struct {
	ready chan struct{} // cap 1: something was added or the recorder closed

	mu      sync.Mutex // guards the fields below
	chunks  []RecordedChunk
	size    int // data plus recordChunkOverhead per chunk
	closed  bool
	claimed bool
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{ready: make(chan struct{}, 1)} }

// Add copies p into the backlog, or counts it as dropped when the backlog
// is full. It never blocks on the reader.
func (r *Recorder) Add(input bool, p []byte) {
	if len(p) == 0 {
		return
	}
	now := time.Now()
	r.mu.Lock()
	switch {
	case r.closed:
	case r.size+len(p)+recordChunkOverhead > MaxRecordingBacklog:
		if n := len(r.chunks); n > 0 && r.chunks[n-1].Dropped > 0 {
			r.chunks[n-1].Dropped += uint64(len(p))
		} else {
			r.chunks = append(r.chunks, RecordedChunk{Time: now, Dropped: uint64(len(p))})
			r.size += recordChunkOverhead
		}
	default:
		r.chunks = append(r.chunks, RecordedChunk{Time: now, Input: input, Data: append([]byte(nil), p...)})
		r.size += len(p) + recordChunkOverhead
	}
	r.mu.Unlock()
	r.wake()
}

func (r *Recorder) wake() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// Claim reserves the recorder for one reader.
func (r *Recorder) Claim() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claimed {
		return ErrRecordingClaimed
	}
	r.claimed = true
	return nil
}

// Close ends the recording: Next returns what is left, then ok false.
func (r *Recorder) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wake()
}

// Next waits for chunks and returns them, at most MaxRecordingBatch bytes
// of data (always at least one chunk). ok is false once the recorder is
// closed and drained; err is ctx's error.
func (r *Recorder) Next(ctx context.Context) (chunks []RecordedChunk, ok bool, err error) {
	for {
		r.mu.Lock()
		if len(r.chunks) > 0 {
			n, data := 0, 0
			for n < len(r.chunks) && (n == 0 || data+len(r.chunks[n].Data) <= MaxRecordingBatch) {
				data += len(r.chunks[n].Data)
				n++
			}
			chunks = append([]RecordedChunk(nil), r.chunks[:n]...)
			r.chunks = append(r.chunks[:0:0], r.chunks[n:]...)
			r.size -= data + n*recordChunkOverhead
			r.mu.Unlock()
			return chunks, true, nil
		}
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return nil, false, nil
		}
		select {
		case <-r.ready:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}
