package terminal

import (
	"sync"
	"unicode/utf8"
)

// OutputEncoder turns a byte stream (PTY output) into JSON output messages,
// {"type":"output","data":"..."}, for the JSON protocol: each message's text
// is valid UTF-8, no UTF-8 sequence is split across messages (an incomplete
// one at the end of a Write waits for the next), invalid bytes become
// U+FFFD, and each message's escaped data is at most limit bytes. It escapes
// as appendJSONString does (U+2028 and U+2029 too; <, > and & are left
// alone).
//
// It works in one pass over the bytes, copying runs of printable ASCII
// whole, into a pooled buffer: a flood of output costs one string per
// message (what the channel's SendText takes) and no per-rune work for
// ASCII. The zero value is not usable; use NewOutputEncoder.
type OutputEncoder struct {
	limit int
	// tail is an incomplete UTF-8 sequence (at most utf8.UTFMax-1 bytes)
	// from the end of the previous Write.
	tail []byte
}

// NewOutputEncoder returns an encoder whose messages' data escapes to at
// most limit bytes (limit must be at least 6, the longest escape).
func NewOutputEncoder(limit int) *OutputEncoder {
	if limit < 6 {
		panic("terminal: output limit below 6")
	}
	return &OutputEncoder{limit: limit, tail: make([]byte, 0, utf8.UTFMax)}
}

// The message around the escaped data.
const (
	outputPrefix = `{"type":"output","data":"`
	outputSuffix = `"}`
)

// messageBufs holds message buffers between Writes, shared by every
// session: one that is not writing holds none.
var messageBufs = sync.Pool{New: func() any { return new([]byte) }}

// Write encodes p and calls send with each complete message, in order. It
// returns send's first error (the rest of p is then dropped). An
// incomplete UTF-8 sequence at the end of p is kept for the next call.
func (e *OutputEncoder) Write(p []byte, send func(msg string) error) error {
	src := p
	if len(e.tail) > 0 {
		// Rare (a read that ended inside a sequence): join the carried bytes.
		src = append(append(make([]byte, 0, len(e.tail)+len(p)), e.tail...), p...)
		e.tail = e.tail[:0]
	}
	cut := incompleteTail(src)
	e.tail = append(e.tail, src[cut:]...)
	return e.encode(src[:cut], send)
}

// Drop forgets the incomplete UTF-8 sequence held from the previous Write
// (its rest was discarded, so it will never be completed).
func (e *OutputEncoder) Drop() { e.tail = e.tail[:0] }

// Flush sends what is left: an incomplete sequence becomes U+FFFD.
func (e *OutputEncoder) Flush(send func(msg string) error) error {
	if len(e.tail) == 0 {
		return nil
	}
	tail := append([]byte(nil), e.tail...)
	e.tail = e.tail[:0]
	return e.encode(tail, send)
}

// encode sends src (no incomplete sequence at its end, or one that is to
// be repaired) as messages of at most limit escaped bytes of data.
func (e *OutputEncoder) encode(src []byte, send func(msg string) error) error {
	if len(src) == 0 {
		return nil
	}
	pb := messageBufs.Get().(*[]byte)
	defer messageBufs.Put(pb)
	b := append((*pb)[:0], outputPrefix...)
	defer func() { *pb = b[:0] }()
	n := 0 // escaped bytes of data in b
	flush := func() error {
		b = append(b, outputSuffix...)
		err := send(string(b))
		b = append(b[:0], outputPrefix...)
		n = 0
		return err
	}
	var esc [6]byte
	for i := 0; i < len(src); {
		c := src[i]
		if jsonPlain[c] {
			if n == e.limit {
				if err := flush(); err != nil {
					return err
				}
			}
			j, end := i+1, min(len(src), i+e.limit-n)
			for j < end && jsonPlain[src[j]] {
				j++
			}
			b = append(b, src[i:j]...)
			n += j - i
			i = j
			continue
		}
		var piece []byte
		size := 1
		switch {
		case c < utf8.RuneSelf:
			piece = escapeASCII(esc[:0], c)
		default:
			var r rune
			r, size = utf8.DecodeRune(src[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				piece = replacementChar
			case r == '\u2028' || r == '\u2029':
				piece = append(esc[:0], '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			default:
				piece = src[i : i+size]
			}
		}
		if n+len(piece) > e.limit {
			if err := flush(); err != nil {
				return err
			}
		}
		b = append(b, piece...)
		n += len(piece)
		i += size
	}
	if n > 0 {
		return flush()
	}
	return nil
}

// replacementChar is U+FFFD in UTF-8, what an invalid byte becomes.
var replacementChar = []byte("\uFFFD")

// jsonPlain marks the ASCII bytes a JSON string holds as they are (false
// for every byte of a multi-byte sequence).
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escapeASCII appends the JSON escape of an ASCII byte that is not plain.
func escapeASCII(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// incompleteTail returns the index where a trailing, possibly valid but
// incomplete UTF-8 sequence starts, or len(b) when there is none.
func incompleteTail(b []byte) int {
	// Look back over at most UTFMax-1 bytes for the last start byte.
	for i := len(b) - 1; i >= 0 && i >= len(b)-(utf8.UTFMax-1); i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}
