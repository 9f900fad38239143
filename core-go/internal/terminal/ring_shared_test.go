package terminal

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// memfd makes a memfd of the size a shared ring of size bytes needs, as the
// agent does (ringmem.py).
func memfd(t *testing.T, size int) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("porthole-ring-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatalf("memfd_create: %v", err)
	}
	f := os.NewFile(uintptr(fd), "ring")
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(int64(SharedRingHeader + size)); err != nil {
		t.Fatal(err)
	}
	return f
}

// The ring continues across a close and a reopen of the same memfd (a new
// porthole-core handed it), wrapping like the in-memory Ring.
func TestSharedRingContinuesAfterReopen(t *testing.T) {
	const size = 64
	f := memfd(t, size)
	rng := rand.New(rand.NewSource(1))
	want := NewRing(size)
	ring, err := OpenSharedRing(f, size)
	if err != nil {
		t.Fatal(err)
	}
	if ring.Generation() != 1 || ring.Len() != 0 {
		t.Fatalf("new ring: generation %d, %d bytes", ring.Generation(), ring.Len())
	}
	for round := 0; round < 5; round++ {
		for i := 0; i < 20; i++ {
			p := make([]byte, rng.Intn(3*size/2))
			rng.Read(p)
			want.Write(p)
			ring.Write(p)
			if !bytes.Equal(ring.Bytes(), want.Bytes()) {
				t.Fatalf("round %d write %d: %x, want %x", round, i, ring.Bytes(), want.Bytes())
			}
		}
		// As porthole-core dies: nothing flushed, the mapping simply goes.
		if err := ring.Close(); err != nil {
			t.Fatal(err)
		}
		if ring, err = OpenSharedRing(f, size); err != nil {
			t.Fatalf("reopen %d: %v", round, err)
		}
		if ring.Generation() != uint64(round+2) {
			t.Fatalf("generation %d after %d reopens", ring.Generation(), round+1)
		}
		if !bytes.Equal(ring.Bytes(), want.Bytes()) || ring.Total() != want.Total() {
			t.Fatalf("after reopen %d: %q (%d), want %q (%d)", round, ring.Bytes(), ring.Total(), want.Bytes(), want.Total())
		}
	}
	ring.Close()
}

func TestSharedRingRefusesAnotherSizeOrAForeignFile(t *testing.T) {
	f := memfd(t, 128)
	if _, err := OpenSharedRing(f, 64); !errors.Is(err, ErrSharedRing) {
		t.Fatalf("wrong file size: %v", err)
	}
	ring, err := OpenSharedRing(f, 128)
	if err != nil {
		t.Fatal(err)
	}
	ring.Write([]byte("kept"))
	ring.Close()
	// Same file size, another ring size in the header: refused, not reinterpreted.
	g := memfd(t, 128)
	if _, err := g.WriteAt([]byte("PTHRING1\x40"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSharedRing(g, 128); !errors.Is(err, ErrSharedRing) {
		t.Fatalf("foreign header: %v", err)
	}
	if _, err := g.WriteAt([]byte("NOTARING"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSharedRing(g, 128); !errors.Is(err, ErrSharedRing) {
		t.Fatalf("bad magic: %v", err)
	}
}

// descriptor is one end of a socket pair in non-blocking mode, as a pump
// takes it: a new duplicate of the same end each call (the agent keeps its
// own copy and hands a duplicate to each porthole-core).
func descriptor(t *testing.T, fd int) *os.File {
	t.Helper()
	d, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(d, true); err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(d), "terminal")
}

func (f *fakeChannel) received() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(bytes.Join(f.binary, nil))
}

// serve attaches a binary bridge on a fake channel to p; stop detaches it.
func serve(t *testing.T, p *ResumablePump) (ch *fakeChannel, stop func()) {
	t.Helper()
	ch = &fakeChannel{}
	b := NewBridge(ch, true, discard, nil)
	if err := b.Attach(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Serve(b); close(done) }()
	return ch, func() { b.Shutdown("test"); <-done }
}

func waitReceived(t *testing.T, ch *fakeChannel, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ch.received() != want {
		if time.Now().After(deadline) {
			t.Fatalf("received %q, want %q", ch.received(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A resumable pump on a shared ring: what it read before it went away (a
// porthole-core SIGKILLed: nothing flushed, the mapping just goes) is
// replayed by the pump of the next porthole-core on the same memfd, then
// what waited in the descriptor meanwhile, once each and in order.
func TestResumablePumpReplaysASharedRingAfterRestart(t *testing.T) {
	const size = 1 << 12
	f := memfd(t, size)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	shell := os.NewFile(uintptr(pair[0]), "shell")
	defer shell.Close()
	defer unix.Close(pair[1])

	ring, err := OpenSharedRing(f, size)
	if err != nil {
		t.Fatal(err)
	}
	first := NewResumablePumpRing(PumpConfig{File: descriptor(t, pair[1]), Log: discard}, ring)
	ch, stop := serve(t, first)
	if _, err := shell.WriteString("before the crash\n"); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, ch, "before the crash\n")
	stop()
	first.Close()

	if _, err := shell.WriteString("while no core ran\n"); err != nil {
		t.Fatal(err)
	}
	ring2, err := OpenSharedRing(f, size)
	if err != nil {
		t.Fatal(err)
	}
	if ring2.Generation() != 2 {
		t.Fatalf("generation %d, want 2", ring2.Generation())
	}
	second := NewResumablePumpRing(PumpConfig{File: descriptor(t, pair[1]), Log: discard}, ring2)
	defer second.Close()
	ch2, stop2 := serve(t, second)
	defer stop2()
	waitReceived(t, ch2, "before the crash\nwhile no core ran\n")
	if _, err := shell.WriteString("live\n"); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, ch2, "before the crash\nwhile no core ran\nlive\n")
}
