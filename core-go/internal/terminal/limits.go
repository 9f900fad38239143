// Package terminal speaks the `terminal` data channel protocol
// (docs/protocol.md §5) with the remote peer and bridges it to the agent's
// frames: a codec for peer messages, a UTF-8-safe output encoder and a
// Bridge with backpressure in both directions.
package terminal

import "time"

// Protocol names.
const (
	// Label is the only data channel label a terminal session accepts.
	Label = "terminal"
	// ProtocolBinary is the channel sub-protocol that opts into the binary
	// fast path; "" is the JSON protocol.
	ProtocolBinary = "porthole-binary"
)

// Sizes and marks.
const (
	// MaxPeerMessage is the largest message the peer may send (protocol.md:
	// "an incoming message is at most 64 KiB"); larger ones are refused with
	// message_too_large and the session goes on.
	MaxPeerMessage = 64 << 10

	// MaxOutputChunk bounds the payload of one outgoing output message: the
	// escaped JSON string in JSON mode, the raw bytes in binary mode.
	// 16 KiB is the size every WebRTC stack delivers without fragmentation
	// trouble and far below aiortc's 64 KiB max-message-size, so a JSON
	// message never exceeds what a peer can accept even when every byte of
	// output needs a six-byte escape.
	MaxOutputChunk = 16 << 10

	// MaxAgentOutput is the largest output frame the agent may send
	// (sidecar.proto: "at most 64 KiB per frame").
	MaxAgentOutput = 64 << 10

	// HighWaterMark is the ceiling of the data channel buffered amount
	// above which the bridge stops reading the agent's output: 1 MiB keeps
	// a fast link's pipe full and bounds the memory one session can hold
	// in SCTP. The mark in use adapts to the drain rate (drainMark): about
	// BufferedTimeTarget of output, never below MinHighWaterMark.
	HighWaterMark = 1 << 20

	// LowWaterMark is where reading resumes (OnBufferedAmountLow) at the
	// ceiling; at any mark it is a quarter of the high mark, a gap that
	// avoids waking for every acknowledged packet.
	LowWaterMark = 256 << 10

	// MinHighWaterMark is the floor of the adaptive high mark, and where
	// a session starts: 8 KiB is a quarter of a second at 256 kbit/s, and
	// a fast link leaves it once rateWindow (128 KiB) drained.
	MinHighWaterMark = 8 << 10

	// MinLowWaterMark is the low mark at the floor: a writer blocked on the
	// channel waits with at least this much buffered.
	MinLowWaterMark = MinHighWaterMark / (HighWaterMark / LowWaterMark)

	// BufferedTimeTarget is how much output, in time at the measured drain
	// rate, the adaptive high mark lets sit in the channel's send buffer;
	// with the pump's read (Bridge.ReadSize) at most 1.25 times that is
	// what a user still watches from porthole-core after Ctrl-C (issue 14,
	// 9: within a second, with the link's and the PTY's own queues), beside
	// what the process's own pipes (Docker's) hold. Throughput needs the
	// mark above the link's bandwidth-delay product: 0.4 s covers round
	// trips up to about 0.3 s below the 1 MiB ceiling.
	BufferedTimeTarget = 400 * time.Millisecond

	// PeerQueueLen bounds peer frames (input, resize) waiting for the agent,
	// including those that arrive before the agent attached. When it is
	// full the channel's read loop blocks, SCTP's receive window closes and
	// the peer is pushed back instead of memory growing.
	PeerQueueLen = 256
)

// Handed-over descriptors (Pump) and their recordings (Recorder).
const (
	// PumpReadSize is one read from a handed-over descriptor: 32 KiB takes
	// a flood in few syscalls (a PTY hands out at most 4 KiB a read, a
	// Docker stream up to its socket buffer) and stays below
	// MaxAgentOutput, the most Bridge.Output takes at once.
	PumpReadSize = 32 << 10

	// MaxPreread bounds the bytes the agent read past the HTTP upgrade and
	// hands over with the descriptor: Docker answers the upgrade and the
	// first output in a few KiB; 64 KiB is one Output.
	MaxPreread = MaxAgentOutput

	// ResizeEventInterval coalesces the peer's resizes into events: a
	// window being dragged sends dozens a second, the agent needs only the
	// last (each costs a Docker API call), and a peer must not be able to
	// flood the agent's event stream (EventBuffer) with them.
	ResizeEventInterval = 50 * time.Millisecond

	// MaxRecordingBacklog bounds the recording copies waiting for the agent,
	// per session: a few seconds of a flood at the sidecar's throughput,
	// so a busy agent drops nothing, yet one session can hold at most
	// this much. Each chunk also counts recordChunkOverhead.
	MaxRecordingBacklog = 4 << 20

	// MaxRecordingBatch bounds the data of one RecordingBatch message: far
	// below gRPC's default 4 MiB receive limit in the agent, large enough
	// that a flood needs few messages.
	MaxRecordingBatch = 256 << 10

	// recordChunkOverhead is what one chunk costs beyond its data (slice
	// header, time, flags), counted against MaxRecordingBacklog so that a
	// stream of one-byte echoes is bounded too.
	recordChunkOverhead = 64
)

// Timing.
const (
	// DrainTimeout bounds how long an agent's half-close waits for the
	// channel to deliver what is buffered (the exit message above all), so
	// that a peer that stopped reading cannot hold the stream open.
	DrainTimeout = 2 * time.Second

	// drainPoll is how often Drain re-checks the buffered amount; pion has
	// no event for "buffer empty".
	drainPoll = 10 * time.Millisecond

	// writablePoll re-checks the buffered amount while waiting for the low
	// mark, a guard against a missed OnBufferedAmountLow callback; it costs
	// nothing when the channel drains normally.
	writablePoll = 250 * time.Millisecond
)
