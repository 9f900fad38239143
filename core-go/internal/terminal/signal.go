package terminal

import "sync"

// lowSignal wakes every writer waiting for the channel to drain (the output
// writer and the read loop's replies may both wait): notify closes the
// current channel and starts a new one.
type lowSignal struct {
	mu sync.Mutex // guards ch
	ch chan struct{}
}

func newLowSignal() lowSignal { return lowSignal{ch: make(chan struct{})} }

// wait returns a channel closed at the next notify.
func (s *lowSignal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *lowSignal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}
