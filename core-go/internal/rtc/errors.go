package rtc

import "errors"

var (
	// ErrInvalidSessionID is returned for a session id that is empty, longer
	// than MaxSessionIDLen or has bytes outside [A-Za-z0-9_-].
	ErrInvalidSessionID = errors.New("rtc: session id must be 1..128 bytes of [A-Za-z0-9_-]")

	// ErrOfferTooLarge is returned for an offer above MaxOfferSize.
	ErrOfferTooLarge = errors.New("rtc: offer SDP above 64 KiB")

	// ErrBadKind is returned for a session kind other than "terminal" and
	// "screen".
	ErrBadKind = errors.New("rtc: unsupported session kind")

	// ErrBadSDP wraps the reason an offer could not be used.
	ErrBadSDP = errors.New("rtc: bad offer SDP")

	// ErrBadCandidate wraps the reason a remote candidate was refused.
	ErrBadCandidate = errors.New("rtc: bad ICE candidate")

	// ErrBadICEServer wraps the reason a per-session ICE server was refused.
	ErrBadICEServer = errors.New("rtc: bad ICE server")

	// ErrSessionExists is returned by CreateSession for an id that is live.
	ErrSessionExists = errors.New("rtc: session already exists")

	// ErrSessionNotFound is returned for an unknown or closed session.
	ErrSessionNotFound = errors.New("rtc: session not found")

	// ErrTooManySessions is returned when MaxSessions sessions are live.
	ErrTooManySessions = errors.New("rtc: too many sessions")

	// ErrCandidateQueueFull is returned when an early candidate does not fit
	// the queue of a session that does not exist yet (MaxQueuedCandidates
	// per id, MaxPendingSessions ids), and when a session has taken
	// MaxRemoteCandidates.
	ErrCandidateQueueFull = errors.New("rtc: early candidate queue full")

	// ErrNotTerminal is returned when a terminal stream attaches to a
	// session of another kind.
	ErrNotTerminal = errors.New("rtc: session has no terminal channel")
	// ErrNoFilesChannel: a Files stream for a session without a `files`
	// channel.
	ErrNoFilesChannel = errors.New("rtc: session has no files channel")
	// ErrNoScreenInput: SetScreenInput for a session that is not a screen
	// or was created without allow_input.
	ErrNoScreenInput = errors.New("rtc: session has no screen input to hand over")

	// ErrNoHandoff is returned by EndTerminal for a session whose terminal
	// descriptor was not handed over.
	ErrNoHandoff = errors.New("rtc: no terminal descriptor was handed over for this session")

	// ErrNoRecording is returned by Recording when the handoff did not ask
	// for one.
	ErrNoRecording = errors.New("rtc: the handoff of this session asked for no recording")

	// ErrShutdown is returned once the manager is shutting down.
	ErrShutdown = errors.New("rtc: sidecar shutting down")

	// ErrWatcherTooSlow is the reason a watcher that fell more than
	// EventBuffer events behind was cut off.
	ErrWatcherTooSlow = errors.New("rtc: event watcher fell too far behind")
)
