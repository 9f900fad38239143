// Package clipboard is the `clipboard` data channel protocol of screen
// sessions (docs/protocol.md §5c): text copied in the page goes to the X
// display's CLIPBOARD and PRIMARY selections, text copied on the display
// comes back, both as JSON text messages of at most MaxMessageSize, a text
// of up to MaxText bytes split over several messages ("more": true on all
// but the last).
package clipboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Label is the data channel's label.
const Label = "clipboard"

// Limits of the protocol.
const (
	// MaxText bounds one clipboard text, bytes of UTF-8: a large document
	// fits, a runaway copy does not fill the sidecar's memory.
	MaxText = 1 << 20

	// MaxMessageSize bounds one message on the wire, like the terminal
	// channel: what every browser sends in one SCTP message.
	MaxMessageSize = 64 << 10

	// ChunkSize is the most text (bytes) the device puts in one message:
	// even escaped six-fold it stays under MaxMessageSize.
	ChunkSize = 8 << 10
)

// Error codes sent back as {"type":"error","code":...}. bad_message,
// message_too_large and display_lost are the input channel's.
const (
	CodeClipboardNotAllowed = "clipboard_not_allowed"
	CodeClipboardTooLarge   = "clipboard_too_large"
	CodeClipboardFailed     = "clipboard_failed"
)

const (
	codeBadMessage  = "bad_message"
	codeTooLarge    = "message_too_large"
	codeDisplayLost = "display_lost"
)

// Message is one parsed `clipboard` message from the page.
type Message struct {
	Text string
	More bool
}

// Error is a refused message, with the code the peer gets.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

type wire struct {
	Type string  `json:"type"`
	Text *string `json:"text"`
	More *bool   `json:"more"`
}

// Parse validates one message from the page.
func Parse(data []byte, isString bool) (Message, *Error) {
	if len(data) > MaxMessageSize {
		return Message{}, errorf(codeTooLarge, "message of %d bytes, limit %d", len(data), MaxMessageSize)
	}
	if !isString {
		return Message{}, errorf(codeBadMessage, "binary messages are not part of the clipboard protocol")
	}
	var m wire
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return Message{}, errorf(codeBadMessage, "not a JSON object of the clipboard protocol")
	}
	if dec.More() {
		return Message{}, errorf(codeBadMessage, "trailing data after the JSON object")
	}
	if m.Type != "clipboard" || m.Text == nil {
		return Message{}, errorf(codeBadMessage, `want {"type":"clipboard","text":"...","more":false}`)
	}
	return Message{Text: *m.Text, More: m.More != nil && *m.More}, nil
}

// Chunks encodes text as the device's clipboard messages: pieces of at
// most ChunkSize bytes cut at rune boundaries, "more" on all but the last.
func Chunks(text []byte) [][]byte {
	s := string(bytes.ToValidUTF8(text, []byte("\uFFFD")))
	var out [][]byte
	for {
		n := len(s)
		if n > ChunkSize {
			n = ChunkSize
			for n > 0 && !utf8.RuneStart(s[n]) {
				n--
			}
		}
		b, _ := json.Marshal(map[string]any{"type": "clipboard", "text": s[:n], "more": n < len(s)})
		out = append(out, b)
		s = s[n:]
		if s == "" {
			return out
		}
	}
}

func errorReply(e *Error) []byte {
	b, _ := json.Marshal(map[string]string{"type": "error", "code": e.Code, "message": e.Message})
	return b
}
