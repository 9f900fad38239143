package terminal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Scrollback is what a ResumablePump keeps its output in: a Ring in
// porthole-core's memory, or a SharedRing in memory the agent keeps.
type Scrollback interface {
	Write(p []byte)
	Bytes() []byte
}

// SharedRing is a scrollback ring kept in a file mapped into memory: a
// memfd that the agent creates for a resumable terminal, keeps for the
// shell's life, and hands to porthole-core with the terminal's descriptor
// (docs/protocol.md, "Descriptor handoff"). When porthole-core dies, the
// ring stays in the agent's memfd; the next porthole-core, handed the same
// memfd with the descriptor, continues it, so a resumed peer gets the
// scrollback from before the crash.
//
// The file is SharedRingHeader bytes of header then the ring's bytes:
//
//	0   8 bytes  magic "PTHRING1" (all zero: a new ring, initialized here)
//	8   uint64   ring size (must equal the file's size - SharedRingHeader)
//	16  uint64   bytes ever written (the next write goes at total % size)
//	24  uint64   generation: 1 when made, +1 each time a process opens it
//
// little endian. One process writes at a time (porthole-core's output loop;
// the agent only creates, hands and closes the file). Bytes are written
// before the total that covers them: a crash in the middle of a write loses
// that write (those bytes had been read from the descriptor and not yet
// counted) and may leave up to one read's worth of them over the oldest end
// of the ring.
type SharedRing struct {
	mem  []byte // the whole mapping
	data []byte // mem[SharedRingHeader:]
	size uint64
	gen  uint64
}

// SharedRingHeader is the size of a SharedRing file's header (one page).
const SharedRingHeader = 4096

var sharedRingMagic = []byte("PTHRING1")

// Offsets of the header's fields.
const (
	offMagic = 0
	offSize  = 8
	offTotal = 16
	offGen   = 24
)

// ErrSharedRing: the file is not a ring of the size asked for.
var ErrSharedRing = errors.New("terminal: not a shared scrollback ring of that size")

// OpenSharedRing maps f (which must be exactly SharedRingHeader + size
// bytes) and continues the ring in it, or starts one when its header is all
// zero. f may be closed afterwards; Close unmaps.
func OpenSharedRing(f *os.File, size int) (*SharedRing, error) {
	if size <= 0 || size > MaxRingSize {
		return nil, fmt.Errorf("%w: size %d", ErrSharedRing, size)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() != int64(SharedRingHeader+size) {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrSharedRing, st.Size(), SharedRingHeader+size)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, SharedRingHeader+size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	r := &SharedRing{mem: mem, data: mem[SharedRingHeader:], size: uint64(size)}
	le := binary.LittleEndian
	switch magic := mem[offMagic : offMagic+8]; {
	case bytes.Equal(magic, make([]byte, 8)):
		le.PutUint64(mem[offSize:], r.size)
		le.PutUint64(mem[offTotal:], 0)
		le.PutUint64(mem[offGen:], 1)
		copy(magic, sharedRingMagic)
	case !bytes.Equal(magic, sharedRingMagic) || le.Uint64(mem[offSize:]) != r.size:
		_ = unix.Munmap(mem)
		return nil, fmt.Errorf("%w: bad header", ErrSharedRing)
	default:
		le.PutUint64(mem[offGen:], le.Uint64(mem[offGen:])+1)
	}
	r.gen = le.Uint64(mem[offGen:])
	return r, nil
}

func (r *SharedRing) total() uint64 { return binary.LittleEndian.Uint64(r.mem[offTotal:]) }

// Write appends p, dropping the oldest bytes beyond the ring's size.
func (r *SharedRing) Write(p []byte) {
	total := r.total()
	if uint64(len(p)) > r.size {
		total += uint64(len(p)) - r.size
		p = p[uint64(len(p))-r.size:]
	}
	at := total % r.size
	n := copy(r.data[at:], p)
	copy(r.data, p[n:])
	binary.LittleEndian.PutUint64(r.mem[offTotal:], total+uint64(len(p)))
}

// Bytes returns a copy of the kept bytes, oldest first.
func (r *SharedRing) Bytes() []byte {
	total := r.total()
	n := min(total, r.size)
	start := (total - n) % r.size
	out := make([]byte, 0, n)
	if start+n <= r.size {
		return append(out, r.data[start:start+n]...)
	}
	out = append(out, r.data[start:]...)
	return append(out, r.data[:start+n-r.size]...)
}

// Len is how many bytes are kept.
func (r *SharedRing) Len() int { return int(min(r.total(), r.size)) }

// Total is how many bytes were ever written.
func (r *SharedRing) Total() int64 { return int64(r.total()) }

// Generation is 1 for a ring this process made, more for one it continues.
func (r *SharedRing) Generation() uint64 { return r.gen }

// Close unmaps the ring (the agent's memfd keeps it); later calls do nothing.
func (r *SharedRing) Close() error {
	if r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem, r.data = nil, nil
	return err
}
