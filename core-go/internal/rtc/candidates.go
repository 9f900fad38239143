package rtc

import "time"

// candidateQueue holds remote candidates for session ids that do not exist
// yet (trickle ICE lets them overtake the offer). It is bounded in ids,
// candidates per id and age. Not safe for concurrent use: the Manager's
// mutex guards it.
type candidateQueue struct {
	entries map[string]*pendingCandidates
}

type pendingCandidates struct {
	first time.Time
	cands []Candidate
}

func newCandidateQueue() *candidateQueue {
	return &candidateQueue{entries: make(map[string]*pendingCandidates)}
}

// add queues c for id.
func (q *candidateQueue) add(id string, c Candidate, now time.Time) error {
	q.purge(now)
	e := q.entries[id]
	if e == nil {
		if len(q.entries) >= MaxPendingSessions {
			return ErrCandidateQueueFull
		}
		e = &pendingCandidates{first: now}
		q.entries[id] = e
	}
	if len(e.cands) >= MaxQueuedCandidates {
		return ErrCandidateQueueFull
	}
	e.cands = append(e.cands, c)
	return nil
}

// take removes and returns the live candidates queued for id.
func (q *candidateQueue) take(id string, now time.Time) []Candidate {
	q.purge(now)
	e := q.entries[id]
	if e == nil {
		return nil
	}
	delete(q.entries, id)
	return e.cands
}

// purge drops entries older than QueuedCandidateTTL.
func (q *candidateQueue) purge(now time.Time) {
	for id, e := range q.entries {
		if now.Sub(e.first) > QueuedCandidateTTL {
			delete(q.entries, id)
		}
	}
}

// len is the number of ids with queued candidates.
func (q *candidateQueue) len() int { return len(q.entries) }
