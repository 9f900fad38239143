package terminal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Channel is the data channel side of a bridge; *webrtc.DataChannel has
// these methods.
type Channel interface {
	Send(p []byte) error
	SendText(s string) error
	BufferedAmount() uint64
}

// attach states of a bridge.
const (
	stateFree = iota
	stateAttached
	stateDetached
)

// Bridge connects one `terminal` data channel to one agent stream.
//
// Peer → agent: HandleMessage (called from the channel's read loop) parses
// messages, answers ping and refusals itself and queues input and resize on
// a bounded queue that the agent stream drains (Frames). When the queue is
// full HandleMessage blocks, which stops the channel's read loop and lets
// SCTP flow control push back on the peer.
//
// Agent → peer: Output, Exit and Error write to the channel, but first wait
// while its buffered amount is above the high mark, until
// NotifyBufferedLow (wired to OnBufferedAmountLow) says it drained to the
// low mark. The high mark adapts to the rate the peer drains the channel
// (drainMark: about BufferedTimeTarget of output, at most HighWaterMark),
// so a slow peer does not watch a minute of old output after Ctrl-C. The
// caller reads the agent's next frame only after the write returns, so
// gRPC flow control pushes back on the agent.
//
// The two directions share no lock or queue: input flows while output is
// blocked.
type Bridge struct {
	ch      Channel
	binary  bool
	log     *slog.Logger
	onClose func() // the peer sent {"type":"close"}

	frames chan PeerMessage // input and resize for the agent
	low    lowSignal        // buffered amount fell to the low mark
	mark   *drainMark       // the high and low marks, adapted to the drain rate
	act    activity         // what crossed the channel, for idle timeouts

	backlog backlog // how long writers have been held back (flush.go)

	// outMu serialises the agent-side writers (one stream at a time, but
	// Exit after Output must not interleave) and guards enc.
	outMu sync.Mutex
	enc   *OutputEncoder

	mu         sync.Mutex // guards the fields below
	state      int
	agentDone  chan struct{} // closed when the agent sent exit or left
	agentEnded bool
	reason     string // why the bridge shut down
	done       chan struct{}
}

// NewBridge returns a bridge writing to ch; binary selects the fast path.
// onPeerClose is called (from the channel's read loop: it must not block)
// when the peer sends {"type":"close"}.
func NewBridge(ch Channel, binary bool, log *slog.Logger, onPeerClose func()) *Bridge {
	return &Bridge{
		ch:        ch,
		binary:    binary,
		log:       log,
		onClose:   onPeerClose,
		frames:    make(chan PeerMessage, PeerQueueLen),
		low:       newLowSignal(),
		mark:      newDrainMark(time.Now),
		enc:       NewOutputEncoder(MaxOutputChunk),
		agentDone: make(chan struct{}),
		done:      make(chan struct{}),
	}
}

// Binary reports whether the peer chose the binary fast path.
func (b *Bridge) Binary() bool { return b.binary }

// HandleMessage handles one message from the peer. It blocks while the
// queue to the agent is full, until the bridge shuts down.
func (b *Bridge) HandleMessage(data []byte, isText bool) {
	msg, err := ParsePeerMessage(data, isText)
	if err != nil {
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			pe = &ProtocolError{Code: CodeBadMessage, Message: err.Error()}
		}
		b.log.Debug("refused peer message", "code", pe.Code, "size", len(data))
		b.reply(EncodeError(pe.Code, pe.Message))
		return
	}
	if msg.Kind == PeerInput {
		b.act.input(len(msg.Data))
	}
	switch msg.Kind {
	case PeerPing:
		b.reply(msgPong)
	case PeerClose:
		if b.onClose != nil {
			b.onClose()
		}
	default:
		select {
		case b.frames <- msg:
		case <-b.done:
		}
	}
}

// reply answers the peer from the channel's read loop. Like a full input
// queue, a channel above the high-water mark blocks the read loop until it
// drained (or the bridge shut down): a peer that stops reading and keeps
// sending pings or bad messages is pushed back by SCTP instead of growing
// our send buffer.
func (b *Bridge) reply(s string) {
	if err := b.waitWritable(context.Background(), len(s)); err != nil {
		return // shut down
	}
	if err := b.ch.SendText(s); err != nil {
		b.log.Debug("reply to peer failed", "err", err)
	}
}

// NotifyBufferedLow wakes a writer waiting for the channel to drain. Wire it
// to the channel's OnBufferedAmountLow; the bridge sets the threshold to its
// current low mark before each wait when the channel has
// SetBufferedAmountLowThreshold (*webrtc.DataChannel has).
func (b *Bridge) NotifyBufferedLow() { b.low.notify() }

// ReadSize is how much a writer should read from its source before the next
// Output: the low mark, from 4 KiB to PumpReadSize (a slow peer reads
// little at a time), so that output read but not yet sent is bounded by
// time too.
func (b *Bridge) ReadSize() int { return b.mark.readSize() }

// lowThresholder is the part of *webrtc.DataChannel that moves the
// OnBufferedAmountLow threshold.
type lowThresholder interface {
	SetBufferedAmountLowThreshold(th uint64)
}

// Activity reports what crossed the channel so far.
func (b *Bridge) Activity() Activity { return b.act.snapshot() }

// Frames delivers input and resize messages for the agent, in order.
func (b *Bridge) Frames() <-chan PeerMessage { return b.frames }

// Done is closed when the bridge shuts down; Reason says why.
func (b *Bridge) Done() <-chan struct{} { return b.done }

// Reason is the close reason given to Shutdown, "" before.
func (b *Bridge) Reason() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reason
}

// Shutdown ends the bridge with a close reason; later calls do nothing.
func (b *Bridge) Shutdown(reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.done:
		return
	default:
	}
	b.reason = reason
	close(b.done)
}

// Attach claims the bridge for one agent stream.
func (b *Bridge) Attach() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stateAttached:
		return ErrAlreadyAttached
	case stateDetached:
		return ErrDetached
	}
	b.state = stateAttached
	return nil
}

// Attached reports whether an agent stream or a pump claimed the bridge.
func (b *Bridge) Attached() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != stateFree
}

// Detach releases the bridge when the agent stream ends.
func (b *Bridge) Detach() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = stateDetached
	b.endAgentLocked()
}

func (b *Bridge) endAgentLocked() {
	if !b.agentEnded {
		b.agentEnded = true
		close(b.agentDone)
	}
}

// AgentPending reports whether an agent stream is attached and may still
// send output (it has not sent exit nor ended). A closing session waits on
// AgentDone for that so that the exit message is not lost.
func (b *Bridge) AgentPending() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == stateAttached && !b.agentEnded
}

// AgentDone is closed once the agent sent exit or its stream ended.
func (b *Bridge) AgentDone() <-chan struct{} { return b.agentDone }

// Output writes PTY bytes to the peer: raw binary messages on the fast
// path, UTF-8-safe {"type":"output"} chunks otherwise. It blocks while the
// channel is above the high-water mark.
func (b *Bridge) Output(ctx context.Context, p []byte) error {
	if len(p) > MaxAgentOutput {
		return fmt.Errorf("%w: %d bytes", ErrOutputTooLarge, len(p))
	}
	b.outMu.Lock()
	defer b.outMu.Unlock()
	b.act.output(len(p))
	if b.binary {
		for len(p) > 0 {
			n := min(len(p), MaxOutputChunk)
			if err := b.write(ctx, n, func() error { return b.ch.Send(p[:n]) }); err != nil {
				return err
			}
			p = p[n:]
		}
		return nil
	}
	return b.enc.Write(p, func(msg string) error { return b.sendText(ctx, msg) })
}

// Exit sends the rest of the output, then {"type":"exit","code":N}.
func (b *Bridge) Exit(ctx context.Context, code int32) error {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	defer func() {
		b.mu.Lock()
		b.endAgentLocked()
		b.mu.Unlock()
	}()
	if !b.binary {
		if err := b.enc.Flush(func(msg string) error { return b.sendText(ctx, msg) }); err != nil {
			return err
		}
	}
	msg := EncodeExit(code)
	return b.write(ctx, len(msg), func() error { return b.ch.SendText(msg) })
}

// Error sends {"type":"error","code":...,"message":...} to the peer.
func (b *Bridge) Error(ctx context.Context, code, message string) error {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	msg := EncodeError(code, message)
	return b.write(ctx, len(msg), func() error { return b.ch.SendText(msg) })
}

// Drain waits until the channel has sent everything it buffered, the bridge
// shuts down, ctx ends or DrainTimeout passes. It reports whether the
// channel drained.
func (b *Bridge) Drain(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, DrainTimeout)
	defer cancel()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for b.ch.BufferedAmount() > 0 {
		select {
		case <-tick.C:
		case <-b.done:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// sendText sends one encoded output message.
func (b *Bridge) sendText(ctx context.Context, msg string) error {
	return b.write(ctx, len(msg), func() error { return b.ch.SendText(msg) })
}

// write waits until n more bytes fit under the high mark, then sends.
func (b *Bridge) write(ctx context.Context, n int, send func() error) error {
	if err := b.waitWritable(ctx, n); err != nil {
		return err
	}
	if err := send(); err != nil {
		select {
		case <-b.done:
			return ErrClosed
		default:
			return fmt.Errorf("terminal: send to peer: %w", err)
		}
	}
	return nil
}

// waitWritable returns when a message of n bytes may be sent: at once when
// it fits under the high mark (or the buffer is at the low mark), else once
// the buffer drained to the low mark. So the buffer holds at most the high
// mark, or the low mark plus one message larger than the gap.
func (b *Bridge) waitWritable(ctx context.Context, n int) error {
	select {
	case <-b.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	default:
	}
	high, low := b.mark.marks()
	buffered := b.ch.BufferedAmount()
	if buffered <= low || buffered+uint64(n) <= high {
		return nil
	}
	// It would go above the high mark: wait until the channel drained to the low mark
	// (hysteresis, so we do not wake for every acknowledged packet), and
	// measure how fast it drained to adapt the marks.
	// The signal is taken before each re-check so that a notify between
	// the check and the wait is not lost.
	if t, ok := b.ch.(lowThresholder); ok {
		t.SetBufferedAmountLowThreshold(low)
	}
	wait := b.mark.begin(buffered)
	b.backlog.begin()
	defer b.backlog.end()
	timer := time.NewTimer(writablePoll)
	defer timer.Stop()
	for {
		signal := b.low.wait()
		if buffered := b.ch.BufferedAmount(); buffered <= low {
			b.mark.end(wait, buffered)
			return nil
		}
		select {
		case <-signal:
		case <-timer.C:
			timer.Reset(writablePoll)
		case <-b.done:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
