package terminal

import (
	"unicode/utf8"
)

// Chunker turns a byte stream (PTY output) into strings for JSON output
// messages: each chunk is valid UTF-8, no UTF-8 sequence is split across
// chunks (an incomplete tail is carried to the next Write), invalid bytes
// become U+FFFD, and each chunk's JSON-escaped form is at most limit bytes.
// The zero value is not usable; use NewChunker.
type Chunker struct {
	limit int
	// tail is an incomplete UTF-8 sequence (at most utf8.UTFMax-1 bytes)
	// from the end of the previous Write.
	tail []byte
}

// NewChunker returns a chunker whose chunks escape to at most limit bytes
// (limit must be at least 6, the longest escape).
func NewChunker(limit int) *Chunker {
	if limit < 6 {
		panic("terminal: chunk limit below 6")
	}
	return &Chunker{limit: limit, tail: make([]byte, 0, utf8.UTFMax)}
}

// Write consumes p and returns the complete chunks it can; an incomplete
// UTF-8 sequence at the end is kept for the next call.
func (c *Chunker) Write(p []byte) []string {
	buf := p
	if len(c.tail) > 0 {
		buf = append(append(make([]byte, 0, len(c.tail)+len(p)), c.tail...), p...)
		c.tail = c.tail[:0]
	}
	cut := incompleteTail(buf)
	c.tail = append(c.tail, buf[cut:]...)
	return c.split(buf[:cut], nil)
}

// Flush returns what is left: an incomplete sequence becomes U+FFFD.
func (c *Chunker) Flush() []string {
	if len(c.tail) == 0 {
		return nil
	}
	out := c.split(c.tail, nil)
	c.tail = c.tail[:0]
	return out
}

// split cuts b into chunks at rune boundaries, repairing invalid bytes.
func (c *Chunker) split(b []byte, out []string) []string {
	chunk := make([]byte, 0, min(len(b)+8, c.limit))
	encoded := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		outSize := size
		if r == utf8.RuneError && size == 1 {
			outSize = 3 // U+FFFD
		}
		n := jsonRuneLen(r, outSize)
		if encoded+n > c.limit {
			out = append(out, string(chunk))
			chunk = chunk[:0]
			encoded = 0
		}
		chunk = utf8.AppendRune(chunk, r)
		encoded += n
		i += size
	}
	if len(chunk) > 0 {
		out = append(out, string(chunk))
	}
	return out
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
