package terminal

import "errors"

var (
	// ErrAlreadyAttached is returned by Attach while another agent stream
	// is attached to the bridge.
	ErrAlreadyAttached = errors.New("terminal: an agent stream is already attached")

	// ErrDetached is returned by Attach after an agent stream was attached
	// and ended: a bridge serves one agent stream in its life.
	ErrDetached = errors.New("terminal: the agent stream of this session has ended")

	// ErrClosed is returned by writes once the bridge is shut down (the
	// session closed or the peer went away).
	ErrClosed = errors.New("terminal: bridge closed")

	// ErrOutputTooLarge is returned for an agent output frame above
	// MaxAgentOutput.
	ErrOutputTooLarge = errors.New("terminal: output frame above 64 KiB")
)
