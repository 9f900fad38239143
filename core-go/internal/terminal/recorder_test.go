package terminal

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// A reader that falls behind costs at most MaxRecordingBacklog; what did
// not fit is a gap, in its place, and nothing else is lost.
func TestRecorderBoundAndGap(t *testing.T) {
	r := NewRecorder()
	piece := bytes.Repeat([]byte{'o'}, PumpReadSize)
	const total = MaxRecordingBacklog + 1<<20
	for sent := 0; sent < total; sent += len(piece) {
		r.Add(false, piece)
	}
	r.Add(true, []byte("typed")) // small enough to fit after the gap
	r.Close()

	var kept, dropped uint64
	var gaps int
	var afterGap []RecordedChunk
	ctx := context.Background()
	for {
		chunks, ok, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		data := 0
		for _, c := range chunks {
			data += len(c.Data)
			if c.Dropped > 0 {
				gaps++
				dropped += c.Dropped
				if len(c.Data) != 0 {
					t.Fatal("a gap with data")
				}
			} else if gaps > 0 {
				afterGap = append(afterGap, c)
			}
			kept += uint64(len(c.Data))
		}
		if data > MaxRecordingBatch {
			t.Fatalf("batch of %d bytes", data)
		}
	}
	if kept > MaxRecordingBacklog || kept < MaxRecordingBacklog-2*PumpReadSize {
		t.Fatalf("kept %d bytes", kept)
	}
	if gaps != 1 || kept+dropped != total+5 {
		t.Fatalf("gaps %d, kept %d + dropped %d != %d", gaps, kept, dropped, total+5)
	}
	if len(afterGap) != 1 || !afterGap[0].Input || string(afterGap[0].Data) != "typed" {
		t.Fatalf("after the gap: %+v", afterGap)
	}

	r2 := NewRecorder()
	if err := r2.Claim(); err != nil {
		t.Fatal(err)
	}
	if err := r2.Claim(); !errors.Is(err, ErrRecordingClaimed) {
		t.Fatalf("second claim: %v", err)
	}
}

func TestRecorderNextWaitsAndEnds(t *testing.T) {
	r := NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("empty recorder with a cancelled ctx: %v", err)
	}
	got := make(chan []RecordedChunk, 1)
	go func() {
		c, _, _ := r.Next(context.Background())
		got <- c
	}()
	r.Add(true, []byte("k"))
	if c := <-got; len(c) != 1 || !c[0].Input || string(c[0].Data) != "k" {
		t.Fatalf("%+v", c)
	}
	r.Close()
	r.Add(false, []byte("late")) // after close: ignored
	if _, ok, err := r.Next(context.Background()); ok || err != nil {
		t.Fatalf("after close: %v %v", ok, err)
	}
}
