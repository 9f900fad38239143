package terminal

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Error codes sent to the peer (docs/protocol.md §6).
const (
	CodeBadMessage      = "bad_message"
	CodeMessageTooLarge = "message_too_large"
	// CodeViewOnly tells the peer of a view-only terminal that its input is
	// dropped (not fatal).
	CodeViewOnly = "view_only"
)

// viewOnlyMessage goes with CodeViewOnly.
const viewOnlyMessage = "view-only session: output only, input is ignored"

// Size bounds of a resize, in character cells.
const (
	minCells = 1
	maxCells = 1000
)

// PeerKind is the type of a peer message.
type PeerKind int

// Peer message types.
const (
	PeerInput PeerKind = iota + 1
	PeerResize
	PeerPing
	PeerClose
)

// PeerMessage is one parsed message from the peer.
type PeerMessage struct {
	Kind PeerKind
	// Data holds the bytes of an input message.
	Data []byte
	// Cols and Rows of a resize.
	Cols, Rows uint32
}

// ProtocolError is a peer message the protocol refuses; Code is sent back
// to the peer with Message.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

func badMessage(format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: CodeBadMessage, Message: fmt.Sprintf(format, args...)}
}

// wireMessage is the loose shape of a text message; fields are checked per
// type so that a wrong type ("cols":"80") is told apart from a missing one.
type wireMessage struct {
	Type *string         `json:"type"`
	Data json.RawMessage `json:"data"`
	Cols json.RawMessage `json:"cols"`
	Rows json.RawMessage `json:"rows"`
}

// ParsePeerMessage parses one data channel message from the peer. Binary
// messages are raw input in both modes. A refused message returns a
// *ProtocolError. Unknown fields are ignored so that clients may add some.
func ParsePeerMessage(data []byte, isText bool) (PeerMessage, error) {
	if len(data) > MaxPeerMessage {
		return PeerMessage{}, &ProtocolError{
			Code:    CodeMessageTooLarge,
			Message: fmt.Sprintf("message of %d bytes is above the limit of %d", len(data), MaxPeerMessage),
		}
	}
	if !isText {
		return PeerMessage{Kind: PeerInput, Data: data}, nil
	}
	var w wireMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return PeerMessage{}, badMessage("not a JSON object: %v", err)
	}
	if w.Type == nil {
		return PeerMessage{}, badMessage("missing \"type\"")
	}
	switch *w.Type {
	case "input":
		var s *string
		if err := json.Unmarshal(orNull(w.Data), &s); err != nil || s == nil {
			return PeerMessage{}, badMessage("input needs \"data\" as a string")
		}
		return PeerMessage{Kind: PeerInput, Data: []byte(*s)}, nil
	case "resize":
		cols, err := cells("cols", w.Cols)
		if err != nil {
			return PeerMessage{}, err
		}
		rows, err := cells("rows", w.Rows)
		if err != nil {
			return PeerMessage{}, err
		}
		return PeerMessage{Kind: PeerResize, Cols: cols, Rows: rows}, nil
	case "ping":
		return PeerMessage{Kind: PeerPing}, nil
	case "close":
		return PeerMessage{Kind: PeerClose}, nil
	default:
		return PeerMessage{}, badMessage("unknown type %s", strconv.QuoteToASCII(truncate(*w.Type, 64)))
	}
}

func cells(name string, raw json.RawMessage) (uint32, error) {
	var n *int
	if err := json.Unmarshal(orNull(raw), &n); err != nil || n == nil || *n < minCells || *n > maxCells {
		return 0, badMessage("resize needs %q as an integer %d..%d", name, minCells, maxCells)
	}
	return uint32(*n), nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Messages to the peer, pre-encoded where constant.
var (
	msgPong = `{"type":"pong"}`
)

// EncodeOutput returns {"type":"output","data":s}; s must be valid UTF-8.
func EncodeOutput(s string) string {
	b := make([]byte, 0, len(s)+32)
	b = append(b, `{"type":"output","data":`...)
	b = appendJSONString(b, s)
	b = append(b, '}')
	return string(b)
}

// EncodeExit returns {"type":"exit","code":n}.
func EncodeExit(code int32) string {
	return `{"type":"exit","code":` + strconv.FormatInt(int64(code), 10) + `}`
}

// EncodeError returns {"type":"error","code":code,"message":message}.
func EncodeError(code, message string) string {
	b := make([]byte, 0, len(code)+len(message)+48)
	b = append(b, `{"type":"error","code":`...)
	b = appendJSONString(b, toValidUTF8(code))
	b = append(b, `,"message":`...)
	b = appendJSONString(b, toValidUTF8(message))
	b = append(b, '}')
	return string(b)
}
