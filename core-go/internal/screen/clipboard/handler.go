package clipboard

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Directions of a Transfer.
const (
	ToRemote   = "to_remote"   // pasted from the page into the display
	FromRemote = "from_remote" // copied on the display, sent to the page
)

// Transfer is one clipboard text moved or refused, for the audit: its size,
// never its content.
type Transfer struct {
	Direction string
	Bytes     int
	Code      string // "" when done, else why it was refused
	Attempts  int    // refused writes this record stands for (rate limited)
}

// Setter puts text in the display's selections (package screen's X loop).
type Setter interface {
	Set(text []byte) error
}

// ErrDisplayLost is what a Setter returns once its display is gone.
var ErrDisplayLost = errors.New("clipboard: display lost")

// refusedGap rate-limits the audit records of refused writes: a peer
// looping on them gets one record per gap with the count.
const refusedGap = time.Second

// Handler applies one session's clipboard messages and sends the display's
// copies to the page. Safe for concurrent use.
type Handler struct {
	set   Setter // nil when writing to the display is not allowed
	read  bool   // the display's copies go to the page
	audit func(Transfer)

	mu   sync.Mutex         // guards send; held while a copy is sent
	send func([]byte) error // nil until the channel is open

	// wmu serializes the page's messages and guards what follows. It is
	// held across Setter.Set, which waits for the X loop: the loop takes
	// only mu (Copied), never wmu, so a paste and a copy at once cannot
	// deadlock.
	wmu     sync.Mutex
	pending []byte // a write's text so far ("more": true)
	over    int    // > 0: the write in progress is over MaxText, discarded; its size so far

	refused     int // refused writes not yet recorded
	lastRefused time.Time
	now         func() time.Time
}

// NewHandler builds a handler: set nil refuses writes with
// clipboard_not_allowed; read false keeps the display's copies from the
// page. audit gets every transfer (rate limited when refused).
func NewHandler(set Setter, read bool, audit func(Transfer)) *Handler {
	return &Handler{set: set, read: read, audit: audit, now: time.Now}
}

// Attach sets how messages reach the page (the open channel).
func (h *Handler) Attach(send func([]byte) error) {
	h.mu.Lock()
	h.send = send
	h.mu.Unlock()
}

// Handle applies one message from the page and returns the reply, or nil.
func (h *Handler) Handle(data []byte, isString bool) []byte {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	m, perr := Parse(data, isString)
	if perr != nil {
		return errorReply(perr)
	}
	if h.set == nil {
		h.refuse(len(m.Text))
		return errorReply(errorf(CodeClipboardNotAllowed, "this session may not write the remote clipboard"))
	}
	if h.over > 0 || len(h.pending)+len(m.Text) > MaxText {
		h.over = max(h.over, len(h.pending)) + len(m.Text)
		h.pending = nil
		if m.More {
			return nil // the end of this text gets the one error
		}
		size := h.over
		h.over = 0
		h.audit(Transfer{Direction: ToRemote, Bytes: size, Code: CodeClipboardTooLarge, Attempts: 1})
		return errorReply(errorf(CodeClipboardTooLarge, "text of %d bytes, limit %d", size, MaxText))
	}
	h.pending = append(h.pending, m.Text...)
	if m.More {
		return nil
	}
	text := h.pending
	h.pending = nil
	if err := h.set.Set(text); err != nil {
		code := CodeClipboardFailed
		if errors.Is(err, ErrDisplayLost) {
			code = codeDisplayLost
		}
		h.audit(Transfer{Direction: ToRemote, Bytes: len(text), Code: code, Attempts: 1})
		return errorReply(&Error{Code: code, Message: err.Error()})
	}
	h.audit(Transfer{Direction: ToRemote, Bytes: len(text)})
	return []byte(fmt.Sprintf(`{"type":"clipboard_set","bytes":%d}`, len(text)))
}

// refuse counts a refused write and records it, at most once per refusedGap.
func (h *Handler) refuse(n int) {
	h.refused++
	if now := h.now(); now.Sub(h.lastRefused) >= refusedGap {
		h.audit(Transfer{Direction: ToRemote, Bytes: n, Code: CodeClipboardNotAllowed, Attempts: h.refused})
		h.refused, h.lastRefused = 0, now
	}
}

// Flush records refused writes not recorded yet (at the session's end).
func (h *Handler) Flush() {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.refused > 0 {
		h.audit(Transfer{Direction: ToRemote, Code: CodeClipboardNotAllowed, Attempts: h.refused})
		h.refused = 0
	}
}

// Copied passes a copy made on the display to the page: text, or, when
// refused, its size (0 when it was not text that could be read).
func (h *Handler) Copied(text []byte, refused bool, size int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.read || h.send == nil {
		return
	}
	if refused {
		if size == 0 {
			return // not text (an image): nothing the page could paste
		}
		h.audit(Transfer{Direction: FromRemote, Bytes: size, Code: CodeClipboardTooLarge, Attempts: 1})
		_ = h.send(errorReply(errorf(CodeClipboardTooLarge, "remote copy of %d bytes, limit %d", size, MaxText)))
		return
	}
	for _, c := range Chunks(text) {
		if err := h.send(c); err != nil {
			return
		}
	}
	h.audit(Transfer{Direction: FromRemote, Bytes: len(text)})
}
