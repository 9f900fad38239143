// Package handoff is porthole-core's side socket: the agent hands it the
// descriptor of a started terminal (the hijacked Docker exec stream or a
// host PTY master) with SCM_RIGHTS, and porthole-core pumps it from then on
// (docs/protocol.md, "Descriptor handoff"). gRPC cannot carry descriptors;
// everything else about the terminal stays on gRPC.
package handoff

import "porthole/core-go/internal/terminal"

// Protocol constants.
const (
	// Version is the header version this sidecar speaks.
	Version = 1

	// KindSocket is a stream socket (Docker's hijacked exec stream);
	// KindPTY a PTY master (the host shell). The descriptor must be one.
	KindSocket = "socket"
	KindPTY    = "pty"
)

// Limits of the side socket.
const (
	// MaxHeaderSize bounds one message (the JSON header): the preread
	// bytes in base64 (4/3 of terminal.MaxPreread) plus a few short fields.
	// A larger message is refused with header_too_large.
	MaxHeaderSize = (terminal.MaxPreread+2)/3*4 + 1024

	// maxFDsRead is how many descriptors one read makes room for: one is
	// the protocol; room for a few more lets us close extras and answer
	// too_many_fds instead of leaving the kernel to drop them silently.
	maxFDsRead = 4

	// MaxConns bounds open connections: the agent keeps one; a few more
	// cover a reconnect racing the old connection's close. Extra
	// connections are closed at once.
	MaxConns = 4
)

// Error codes of a refused message (Reply.Code).
const (
	CodeBadHeader       = "bad_header"        // not the JSON header of this version
	CodeHeaderTooLarge  = "header_too_large"  // message above MaxHeaderSize
	CodeMissingFD       = "missing_fd"        // no descriptor came with the header
	CodeTooManyFDs      = "too_many_fds"      // more than one descriptor
	CodeBadFD           = "bad_fd"            // the descriptor is not of the kind named
	CodePrereadTooLarge = "preread_too_large" // preread above terminal.MaxPreread
	CodeUnknownSession  = "unknown_session"   // no live session with that id
	CodeNotTerminal     = "not_terminal"      // the session is a screen session
	CodeAlreadyAttached = "already_attached"  // a descriptor or Terminal stream has it
	CodeShuttingDown    = "shutting_down"     // porthole-core is stopping
	CodePeerRefused     = "peer_refused"      // SO_PEERCRED: not our uid / parent
	CodeInternal        = "internal"
)
