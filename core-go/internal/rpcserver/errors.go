package rpcserver

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"porthole/core-go/internal/files"
	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/screen"
	"porthole/core-go/internal/terminal"
)

// errUnknownPeerFrame is a peer frame of a kind the agent's stream has no
// frame for: a bug between the terminal bridge and this server, so it maps
// to codes.Internal.
var errUnknownPeerFrame = errors.New("rpcserver: unknown peer frame kind")

// toStatus maps domain errors to gRPC statuses (sidecar.proto's header).
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, rtc.ErrInvalidSessionID), errors.Is(err, rtc.ErrOfferTooLarge),
		errors.Is(err, rtc.ErrBadKind), errors.Is(err, rtc.ErrBadSDP),
		errors.Is(err, rtc.ErrBadCandidate), errors.Is(err, rtc.ErrBadICEServer),
		errors.Is(err, terminal.ErrOutputTooLarge), errors.Is(err, screen.ErrBadOptions):
		code = codes.InvalidArgument
	case errors.Is(err, rtc.ErrSessionNotFound), errors.Is(err, terminal.ErrClosed),
		errors.Is(err, rtc.ErrNotDetached), errors.Is(err, files.ErrClosed),
		errors.Is(err, rtc.ErrNotShareable), errors.Is(err, terminal.ErrNotViewer):
		code = codes.NotFound
	case errors.Is(err, rtc.ErrSessionExists), errors.Is(err, terminal.ErrAlreadyAttached),
		errors.Is(err, terminal.ErrRecordingClaimed), errors.Is(err, files.ErrAttached):
		code = codes.AlreadyExists
	case errors.Is(err, rtc.ErrTooManySessions), errors.Is(err, rtc.ErrCandidateQueueFull),
		errors.Is(err, rtc.ErrWatcherTooSlow):
		code = codes.ResourceExhausted
	case errors.Is(err, rtc.ErrNotTerminal), errors.Is(err, terminal.ErrDetached),
		errors.Is(err, screen.ErrUnavailable), errors.Is(err, rtc.ErrNoHandoff),
		errors.Is(err, rtc.ErrNoRecording), errors.Is(err, terminal.ErrPumpEnded),
		errors.Is(err, rtc.ErrHasTerminal), errors.Is(err, rtc.ErrNoFilesChannel),
		errors.Is(err, rtc.ErrNoScreenInput):
		code = codes.FailedPrecondition
	case errors.Is(err, rtc.ErrShutdown):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
