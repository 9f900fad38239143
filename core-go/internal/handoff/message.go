package handoff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/terminal"
)

// Header is the JSON message that carries one descriptor (SCM_RIGHTS on
// the same SOCK_SEQPACKET message).
type Header struct {
	// Version must be Version.
	Version int `json:"version"`
	// SessionID is a live terminal session created with CreateSession.
	SessionID string `json:"session_id"`
	// Kind is KindSocket or KindPTY: what the descriptor is.
	Kind string `json:"kind"`
	// Preread is output the agent already read past the HTTP upgrade
	// (base64 in JSON), sent to the peer before anything else.
	Preread []byte `json:"preread,omitempty"`
	// Record asks for output copies on WatchRecording; RecordInput for
	// input copies too (it needs Record).
	Record      bool `json:"record,omitempty"`
	RecordInput bool `json:"record_input,omitempty"`
	// ViewOnly drops the peer's input (a view-only grant): nothing is
	// written to the descriptor and the peer is told once with a
	// `view_only` error before any output.
	ViewOnly bool `json:"view_only,omitempty"`
	// RingBytes > 0 makes the terminal resumable with a scrollback ring of
	// that many bytes (at most terminal.MaxRingSize; see AttachTerminal in
	// sidecar.proto).
	RingBytes int `json:"ring_bytes,omitempty"`
	// RingMemfd says that a second descriptor follows the terminal's in
	// the same message: a memfd of exactly terminal.SharedRingHeader +
	// RingBytes bytes that keeps the ring (terminal.SharedRing), so that
	// the scrollback outlives porthole-core. It needs RingBytes.
	RingMemfd bool `json:"ring_memfd,omitempty"`
}

// Reply answers every message.
type Reply struct {
	OK      bool   `json:"ok"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// refusal is a message refused with a code.
type refusal struct{ code, message string }

func (r *refusal) Error() string { return r.code + ": " + r.message }

func refuse(code, format string, args ...any) *refusal {
	return &refusal{code: code, message: fmt.Sprintf(format, args...)}
}

// ParseHeader decodes and checks a header.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return Header{}, refuse(CodeBadHeader, "not a JSON header: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Header{}, refuse(CodeBadHeader, "trailing data after the header")
	}
	switch {
	case h.Version != Version:
		return Header{}, refuse(CodeBadHeader, "version %d, want %d", h.Version, Version)
	case rtc.ValidateSessionID(h.SessionID) != nil:
		return Header{}, refuse(CodeBadHeader, "session_id must be 1..%d bytes of [A-Za-z0-9_-]", rtc.MaxSessionIDLen)
	case h.Kind != KindSocket && h.Kind != KindPTY:
		return Header{}, refuse(CodeBadHeader, "kind must be %q or %q", KindSocket, KindPTY)
	case len(h.Preread) > terminal.MaxPreread:
		return Header{}, refuse(CodePrereadTooLarge, "preread of %d bytes is above %d", len(h.Preread), terminal.MaxPreread)
	case h.RingBytes < 0 || h.RingBytes > terminal.MaxRingSize:
		return Header{}, refuse(CodeBadHeader, "ring_bytes must be 0..%d", terminal.MaxRingSize)
	case h.RingMemfd && h.RingBytes == 0:
		return Header{}, refuse(CodeBadHeader, "ring_memfd needs ring_bytes")
	case h.RecordInput && !h.Record:
		return Header{}, refuse(CodeBadHeader, "record_input needs record")
	}
	return h, nil
}
