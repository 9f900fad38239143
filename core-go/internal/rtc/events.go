package rtc

import (
	"sync"
	"time"

	"porthole/core-go/internal/screen/clipboard"
)

// EventKind tells which field of an Event is set.
type EventKind int

// Event kinds, as in SessionEvent.event.
const (
	EventLocalCandidate EventKind = iota + 1
	EventICEState
	EventPeerState
	EventChannelOpened
	EventClosed
	EventTerminalResize
	EventTerminalEnded
	EventClipboard
)

// Candidate is an ICE candidate in the RTCIceCandidateInit shape. An empty
// Candidate string means end of candidates.
type Candidate struct {
	Candidate     string
	SDPMid        string
	SDPMLineIndex int32 // -1 when unknown
}

// Event is something that happened to a session.
type Event struct {
	SessionID string
	Time      time.Time
	Kind      EventKind

	Candidate Candidate           // EventLocalCandidate
	State     string              // EventICEState, EventPeerState
	Label     string              // EventChannelOpened
	Protocol  string              // EventChannelOpened
	Reason    string              // EventClosed, EventTerminalEnded
	Message   string              // EventClosed, EventTerminalEnded
	Cols      uint32              // EventTerminalResize
	Rows      uint32              // EventTerminalResize
	ICE       *ICEDiagnosis       // EventClosed: what ICE saw before the close; nil without a peer connection
	Terminal  *TerminalStats      // EventClosed: what crossed the terminal channel; nil without one
	Clipboard *clipboard.Transfer // EventClipboard
}

// Hub fans events out to watchers. Publishing never blocks: a watcher whose
// buffer is full is cut off.
type Hub struct {
	mu       sync.Mutex // guards watchers and closed
	watchers map[*Watcher]struct{}
	closed   bool
}

// Watcher receives every event published after it subscribed.
type Watcher struct {
	hub      *Hub
	events   chan Event
	overflow chan struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{watchers: make(map[*Watcher]struct{})}
}

// Subscribe adds a watcher with an EventBuffer-deep buffer.
func (h *Hub) Subscribe() (*Watcher, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrShutdown
	}
	w := &Watcher{hub: h, events: make(chan Event, EventBuffer), overflow: make(chan struct{})}
	h.watchers[w] = struct{}{}
	return w, nil
}

// Publish hands e to every watcher.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		select {
		case w.events <- e:
		default:
			delete(h.watchers, w)
			close(w.overflow)
		}
	}
}

// Close ends every watcher's Events channel after what it already holds.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for w := range h.watchers {
		delete(h.watchers, w)
		close(w.events)
	}
}

// Events delivers the events; it is closed when the hub closes.
func (w *Watcher) Events() <-chan Event { return w.events }

// Overflow is closed when the watcher was cut off for falling behind.
func (w *Watcher) Overflow() <-chan struct{} { return w.overflow }

// Close unsubscribes the watcher.
func (w *Watcher) Close() {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	delete(w.hub.watchers, w)
}
