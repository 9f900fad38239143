// Package rtc owns the WebRTC side of porthole-core: a Manager of sessions,
// each one pion PeerConnection answering a remote offer, with trickle ICE,
// early candidate queueing, session events and transport statistics.
package rtc

import "time"

// Session kinds.
const (
	// KindTerminal carries one `terminal` data channel.
	KindTerminal = "terminal"
	// KindScreen carries one VP8 video track of an X display and an
	// optional `input` data channel.
	KindScreen = "screen"
)

// Close reasons (SessionClosed.reason in sidecar.proto).
const (
	ReasonClosedByAgent   = "closed_by_agent"
	ReasonPeerClosed      = "peer_closed"
	ReasonICEFailed       = "ice_failed"
	ReasonPeerFailed      = "peer_failed"
	ReasonSidecarShutdown = "sidecar_shutdown"
	ReasonScreenLost      = "screen_lost"
)

// Limits of the API (sidecar.proto).
const (
	// MaxSessionIDLen bounds session ids: they are signaling ids, not data.
	// The server mints "s_" + 22 characters; 64 is the signaling limit
	// (python/src/porthole/wire.py, tests/test_wire_rules.py keeps them equal).
	MaxSessionIDLen = 64

	// MaxOfferSize bounds an offer; a data-only offer with many candidates
	// is a few KiB, so 64 KiB leaves room without letting a caller make us
	// parse megabytes.
	MaxOfferSize = 64 << 10

	// MaxQueuedCandidates bounds early candidates per session id: a browser
	// gathers a handful per interface; 64 covers many interfaces and TURN.
	MaxQueuedCandidates = 64

	// QueuedCandidateTTL is how long early candidates wait for their
	// CreateSession: the offer follows within a signaling round trip, and a
	// session grant is valid for 60 s, so anything older is abandoned.
	QueuedCandidateTTL = 30 * time.Second

	// MaxRemoteCandidates bounds the remote candidates one session takes
	// once it exists: pion keeps each one, starts a goroutine for it, pairs
	// it with every local candidate and checks the pairs, so a peer that
	// trickles without end would grow memory, goroutines and STUN traffic
	// (20 000 candidates: +18 000 goroutines, +29 MiB). A browser gathers a
	// few per interface and protocol (host, srflx, relay); 128 leaves room
	// for many interfaces and TURN servers.
	MaxRemoteCandidates = 128

	// MaxPendingSessions bounds the ids with queued candidates so that a
	// stream of candidates for ids that never come cannot grow memory.
	MaxPendingSessions = 256

	// EventBuffer is how many events a watcher may be behind before it is
	// cut off: a burst of a few hundred sessions each trickling candidates
	// fits; a watcher that stopped reading does not hold memory forever.
	EventBuffer = 1024
)

// Transport settings.
const (
	// SCTPMaxMessageSize is the max-message-size we advertise. It is above
	// the protocol's 64 KiB limit on purpose: peers then send a larger
	// message instead of failing locally, we read it and answer
	// message_too_large, and the session goes on. 256 KiB matches what
	// Chromium accepts; a peer ignoring it gets its channel closed.
	SCTPMaxMessageSize = 256 << 10

	// FlushTimeout bounds how long CloseSession waits for the agent's last
	// frames (exit) and for the data channel to drain, so that the exit
	// message arrives without a stuck peer holding the close forever.
	FlushTimeout = 2 * time.Second

	// flushPoll is how often a flush re-checks the buffered amount; pion has
	// no event for "buffer empty".
	flushPoll = 10 * time.Millisecond
)

// DiagnosisInterval is how often the ICE diagnosis of a session that is not
// connected is snapshotted, so that a session whose ICE failed (pion then
// drops its candidates and pairs) still reports what it tried: at most this
// old, for one GetStats a second per unconnected session.
const DiagnosisInterval = time.Second
