package terminal

// DefaultRingSize is the scrollback a resumable terminal keeps (1 MiB).
const DefaultRingSize = 1 << 20

// MaxRingSize bounds what a handoff may ask for.
const MaxRingSize = 16 << 20

// Ring keeps the last Size bytes written to it; older bytes are dropped.
// It is not safe for concurrent use: the pump's output loop owns it.
type Ring struct {
	buf   []byte // grows up to size, then wraps
	size  int
	start int   // index of the oldest byte once full
	total int64 // bytes ever written
}

// NewRing returns an empty ring of at most size bytes (size > 0).
func NewRing(size int) *Ring { return &Ring{size: size} }

// Write appends p, dropping the oldest bytes beyond the ring's size.
func (r *Ring) Write(p []byte) {
	r.total += int64(len(p))
	if len(p) >= r.size {
		r.buf = append(r.buf[:0], p[len(p)-r.size:]...)
		r.start = 0
		return
	}
	if room := r.size - len(r.buf); room > 0 {
		n := min(room, len(p))
		r.buf = append(r.buf, p[:n]...)
		p = p[n:]
	}
	for len(p) > 0 { // full: overwrite from start
		n := copy(r.buf[r.start:], p)
		p = p[n:]
		r.start = (r.start + n) % r.size
	}
}

// Bytes returns a copy of the kept bytes, oldest first.
func (r *Ring) Bytes() []byte {
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}

// Len is how many bytes are kept; Total how many were ever written.
func (r *Ring) Len() int { return len(r.buf) }

// Total is how many bytes were ever written.
func (r *Ring) Total() int64 { return r.total }
