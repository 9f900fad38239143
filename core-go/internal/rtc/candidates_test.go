package rtc

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCandidateQueue(t *testing.T) {
	q := newCandidateQueue()
	now := time.Unix(1000, 0)
	c := Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: "0"}
	for i := 0; i < MaxQueuedCandidates; i++ {
		if err := q.add("a", c, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.add("a", c, now); !errors.Is(err, ErrCandidateQueueFull) {
		t.Fatalf("per-id bound: %v", err)
	}
	if got := q.take("a", now); len(got) != MaxQueuedCandidates {
		t.Fatalf("took %d", len(got))
	}
	if got := q.take("a", now); got != nil {
		t.Fatal("taken twice")
	}

	// TTL.
	_ = q.add("old", c, now)
	if got := q.take("old", now.Add(QueuedCandidateTTL+time.Second)); got != nil {
		t.Fatal("expired candidates applied")
	}

	// Bounded ids; expired ids make room.
	for i := 0; i < MaxPendingSessions; i++ {
		if err := q.add(fmt.Sprint("id", i), c, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.add("one-more", c, now); !errors.Is(err, ErrCandidateQueueFull) {
		t.Fatalf("id bound: %v", err)
	}
	if err := q.add("one-more", c, now.Add(QueuedCandidateTTL+time.Second)); err != nil {
		t.Fatalf("after TTL: %v", err)
	}
	if q.len() != 1 {
		t.Fatalf("len = %d", q.len())
	}
}
