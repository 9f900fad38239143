// Package files relays a terminal session's `files` data channel (file
// transfer, docs/protocol.md §5d) to the agent. porthole-core does not read
// the messages: the agent speaks the protocol (it knows Docker, the grant and
// the paths). The relay bounds what waits for the agent (Queue messages from
// the peer, whose window keeps it far below) and holds the agent back while
// the channel's buffered amount is above HighWater.
package files

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Label is the data channel's label.
const Label = "files"

// Limits of the relay.
const (
	// MaxMessage bounds one message either way: a 64 KiB chunk, as on the
	// terminal channel.
	MaxMessage = 64 << 10
	// Queue is how many peer messages wait for the agent. The page keeps at
	// most 1 MiB of chunks unacknowledged (16 of 64 KiB), so a peer that
	// follows the protocol never fills it.
	Queue = 64
	// HighWater and LowWater: the agent's messages wait while the channel
	// has more than HighWater bytes buffered, until it drains to LowWater.
	HighWater = 1 << 20
	LowWater  = 256 << 10
	// poll re-checks the buffered amount when pion's low event is missed.
	poll = 50 * time.Millisecond
)

// Codes the relay sends the peer as {"type":"error","code":...}.
const (
	CodeOverflow = "files_overflow"
	CodeTooLarge = "message_too_large"
)

// Errors of the relay.
var (
	ErrClosed   = errors.New("files: channel closed")
	ErrAttached = errors.New("files: channel already relayed")
	ErrTooLarge = errors.New("files: message larger than 64 KiB")
)

// Message is one data channel message.
type Message struct {
	Data []byte
	Text bool
}

// Channel is what the relay needs of a data channel (pion's, or a fake in
// tests).
type Channel interface {
	Send([]byte) error
	SendText(string) error
	BufferedAmount() uint64
	Close() error
}

// Relay is one `files` channel.
type Relay struct {
	dc       Channel
	log      *slog.Logger
	in       chan Message
	low      chan struct{}
	open     chan struct{}
	openOnce sync.Once
	done     chan struct{}
	doneOnce sync.Once
	attached atomic.Bool
	sendMu   sync.Mutex // one sender at a time (the agent's stream, or an error)
}

// NewRelay wraps a channel; wire HandleMessage, NotifyLow, MarkOpen and
// Close to its callbacks.
func NewRelay(dc Channel, log *slog.Logger) *Relay {
	return &Relay{
		dc:   dc,
		log:  log,
		in:   make(chan Message, Queue),
		low:  make(chan struct{}, 1),
		open: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// MarkOpen records that the channel opened.
func (r *Relay) MarkOpen() { r.openOnce.Do(func() { close(r.open) }) }

// Opened is closed once the channel is open.
func (r *Relay) Opened() <-chan struct{} { return r.open }

// Done is closed once the channel closed (or the relay closed it).
func (r *Relay) Done() <-chan struct{} { return r.done }

// Incoming is the peer's messages, in order.
func (r *Relay) Incoming() <-chan Message { return r.in }

// Close marks the relay done (the channel closed); it does not close the
// channel itself.
func (r *Relay) Close() { r.doneOnce.Do(func() { close(r.done) }) }

// NotifyLow is the channel's buffered-amount-low callback.
func (r *Relay) NotifyLow() {
	select {
	case r.low <- struct{}{}:
	default:
	}
}

// HandleMessage queues one message of the peer. A message over MaxMessage
// is refused (message_too_large, the channel stays); a peer that overruns
// the queue broke the protocol's window: files_overflow, channel closed.
func (r *Relay) HandleMessage(data []byte, text bool) {
	if len(data) > MaxMessage {
		r.refuse(CodeTooLarge, "a files message is at most 64 KiB", false)
		return
	}
	m := Message{Data: append([]byte(nil), data...), Text: text}
	select {
	case <-r.done:
	case r.in <- m:
	default:
		r.refuse(CodeOverflow, "more than the window of unacknowledged data was sent", true)
	}
}

func (r *Relay) refuse(code, message string, closeIt bool) {
	r.log.Info("files channel message refused", "code", code)
	r.sendMu.Lock()
	err := r.dc.SendText(`{"type":"error","code":"` + code + `","message":"` + message + `"}`)
	r.sendMu.Unlock()
	if err != nil {
		r.log.Debug("files error not sent", "err", err)
	}
	if closeIt {
		r.Close()
		if err := r.dc.Close(); err != nil {
			r.log.Debug("close files channel", "err", err)
		}
	}
}

// Attach claims the relay for one agent stream.
func (r *Relay) Attach() error {
	if !r.attached.CompareAndSwap(false, true) {
		return ErrAttached
	}
	return nil
}

// Detach releases the claim (the agent's stream ended).
func (r *Relay) Detach() { r.attached.Store(false) }

// Send sends one of the agent's messages, after waiting while the channel
// is above HighWater.
func (r *Relay) Send(ctx context.Context, m Message) error {
	if len(m.Data) > MaxMessage {
		return ErrTooLarge
	}
	for r.dc.BufferedAmount() > HighWater {
		select {
		case <-r.low:
		case <-time.After(poll):
		case <-r.done:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-r.done:
		return ErrClosed
	default:
	}
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	var err error
	if m.Text {
		err = r.dc.SendText(string(m.Data))
	} else {
		err = r.dc.Send(m.Data)
	}
	if err != nil {
		return errors.Join(ErrClosed, err)
	}
	return nil
}

// Wire connects a pion data channel's callbacks to the relay; onOpen runs
// after the relay is marked open.
func (r *Relay) Wire(dc *webrtc.DataChannel, onOpen func()) {
	dc.SetBufferedAmountLowThreshold(LowWater)
	dc.OnBufferedAmountLow(r.NotifyLow)
	dc.OnMessage(func(msg webrtc.DataChannelMessage) { r.HandleMessage(msg.Data, msg.IsString) })
	dc.OnOpen(func() {
		r.MarkOpen()
		onOpen()
	})
	dc.OnClose(r.Close)
}
