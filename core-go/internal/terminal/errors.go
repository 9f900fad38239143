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

var (
	// ErrRecordingClaimed is returned by Recorder.Claim when another reader
	// has the recording.
	ErrRecordingClaimed = errors.New("terminal: the recording already has a reader")

	// ErrPumpEnded is returned by Pump.End after the first call.
	ErrPumpEnded = errors.New("terminal: the handed-over terminal was already ended")
)
