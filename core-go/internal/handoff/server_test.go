package handoff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"porthole/core-go/internal/config"
	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/testpeer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = testpeer.Timeout

var discard = slog.New(slog.NewJSONHandler(io.Discard, nil))

// fixture is a real rtc.Manager behind a handoff server on a socket in
// TempDir.
type fixture struct {
	t    *testing.T
	mgr  *rtc.Manager
	path string
}

func newFixture(t *testing.T, policy Policy) *fixture {
	t.Helper()
	return newFixtureAt(t, filepath.Join(t.TempDir(), "core.sock.fd"), policy)
}

func newFixtureAt(t *testing.T, path string, policy Policy) *fixture {
	t.Helper()
	mgr, err := rtc.New(config.RTC{Interfaces: []string{"lo"}, Loopback: true, MDNS: config.MDNSOff, MaxSessions: 4}, discard)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(mgr, policy, discard)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = mgr.Shutdown(ctx)
	})
	return &fixture{t: t, mgr: mgr, path: path}
}

func ownPolicy() Policy { return Policy{UID: os.Getuid(), PIDs: []int{os.Getpid()}} }

func (f *fixture) dial() *net.UnixConn {
	f.t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: f.path, Net: "unixpacket"})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

// send sends one message with fds and returns the reply.
func send(t *testing.T, c *net.UnixConn, msg []byte, fds ...int) Reply {
	t.Helper()
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix(msg, oob, nil); err != nil {
		t.Fatalf("send: %v", err)
	}
	return readReply(t, c)
}

func readReply(t *testing.T, c *net.UnixConn) Reply {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	var r Reply
	if err := json.Unmarshal(buf[:n], &r); err != nil {
		t.Fatalf("reply %q: %v", buf[:n], err)
	}
	return r
}

func header(t *testing.T, h Header) []byte {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// socketpair returns both ends; the test closes them.
func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fds[0], fds[1]
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the directory's own descriptor
}

// listFDs describes the open descriptors, for failure messages.
func listFDs() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		fmt.Fprintf(&b, "%s -> %s\n", e.Name(), target)
	}
	return b.String()
}

func TestRefusedMessagesCloseTheirDescriptorsAndTheConnectionGoesOn(t *testing.T) {
	f := newFixture(t, ownPolicy())
	c := f.dial()
	ours, theirs := socketpair(t)
	regular, err := os.CreateTemp(t.TempDir(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	// One round trip first: the server side of the connection is then
	// open and counted in the baseline.
	if r := send(t, c, []byte("{}")); r.Code != CodeBadHeader {
		t.Fatalf("first reply %+v", r)
	}
	baseline, before := openFDs(t), listFDs()

	good := Header{Version: 1, SessionID: "nope", Kind: KindSocket}
	ring := Header{Version: 1, SessionID: "nope", Kind: KindSocket, RingBytes: 64, RingMemfd: true}
	cases := []struct {
		name string
		msg  []byte
		fds  []int
		code string
	}{
		{"not JSON", []byte("{\"version\":1,"), []int{theirs}, CodeBadHeader},
		{"trailing data", append(header(t, good), " {}"...), []int{theirs}, CodeBadHeader},
		{"unknown field", []byte(`{"version":1,"session_id":"a","kind":"socket","shell":"/bin/sh"}`), []int{theirs}, CodeBadHeader},
		{"other version", header(t, Header{Version: 2, SessionID: "a", Kind: KindSocket}), []int{theirs}, CodeBadHeader},
		{"bad session id", header(t, Header{Version: 1, SessionID: "../x", Kind: KindSocket}), []int{theirs}, CodeBadHeader},
		{"bad kind", header(t, Header{Version: 1, SessionID: "a", Kind: "file"}), []int{theirs}, CodeBadHeader},
		{"input without output", header(t, Header{Version: 1, SessionID: "a", Kind: KindSocket, RecordInput: true}), []int{theirs}, CodeBadHeader},
		{"missing fd", header(t, good), nil, CodeMissingFD},
		{"two fds", header(t, good), []int{theirs, ours}, CodeTooManyFDs},
		{"many fds", header(t, good), []int{theirs, ours, theirs, ours, theirs, ours}, CodeTooManyFDs},
		{"too large", bytes.Repeat([]byte{' '}, MaxHeaderSize+1), []int{theirs}, CodeHeaderTooLarge},
		{"preread too large", header(t, Header{Version: 1, SessionID: "a", Kind: KindSocket, Preread: make([]byte, 64<<10+1)}), []int{theirs}, CodePrereadTooLarge},
		{"a file is no socket", header(t, good), []int{int(regular.Fd())}, CodeBadFD},
		{"a socket is no pty", header(t, Header{Version: 1, SessionID: "a", Kind: KindPTY}), []int{theirs}, CodeBadFD},
		{"unknown session", header(t, good), []int{theirs}, CodeUnknownSession},
		{"ring memfd without ring", header(t, Header{Version: 1, SessionID: "a", Kind: KindSocket, RingMemfd: true}), []int{theirs, int(regular.Fd())}, CodeBadHeader},
		{"ring memfd missing", header(t, ring), []int{theirs}, CodeMissingFD},
		{"ring memfd not a file", header(t, ring), []int{theirs, ours}, CodeBadFD},
		{"three fds with a ring", header(t, ring), []int{theirs, int(regular.Fd()), ours}, CodeTooManyFDs},
		{"ring memfd, unknown session", header(t, ring), []int{theirs, int(regular.Fd())}, CodeUnknownSession},
	}
	for _, tc := range cases {
		r := send(t, c, tc.msg, tc.fds...)
		if r.OK || r.Code != tc.code || r.Message == "" {
			t.Errorf("%s: reply %+v, want %s", tc.name, r, tc.code)
		}
	}
	// Every descriptor that came with a refused message was closed.
	deadline := time.Now().Add(wait)
	for openFDs(t) > baseline {
		if time.Now().After(deadline) {
			t.Fatalf("open descriptors %d, want %d: refused descriptors leaked\nbefore:\n%s\nafter:\n%s", openFDs(t), baseline, before, listFDs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	regular.Close()
	unix.Close(ours)
	unix.Close(theirs)
}

func TestWrongPeerIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		want   string
	}{
		{"another uid", Policy{UID: os.Getuid() + 1}, "uid"},
		{"not the parent", Policy{UID: os.Getuid(), PIDs: []int{os.Getppid()}}, "pid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.policy)
			c := f.dial()
			r := readReply(t, c) // refused before it sends anything
			if r.OK || r.Code != CodePeerRefused || !strings.Contains(r.Message, tc.want) {
				t.Fatalf("reply %+v, want peer_refused (%s)", r, tc.want)
			}
			ours, theirs := socketpair(t)
			defer unix.Close(ours)
			defer unix.Close(theirs)
			// The connection is closed: nothing more is read from it.
			_, _, _ = c.WriteMsgUnix(header(t, Header{Version: 1, SessionID: "a", Kind: KindSocket}), syscall.UnixRights(theirs), nil)
			_ = c.SetReadDeadline(time.Now().Add(wait))
			if n, err := c.Read(make([]byte, 64)); err == nil && n > 0 {
				t.Fatalf("refused peer got a second reply")
			}
		})
	}
}

func TestHandoffToALiveSession(t *testing.T) {
	f := newFixture(t, ownPolicy())
	p := testpeer.New(t, testpeer.Options{})
	if _, err := f.mgr.CreateSession(rtc.CreateRequest{SessionID: "live", OfferSDP: p.Offer(), Kind: rtc.KindTerminal}); err != nil {
		t.Fatal(err)
	}
	c := f.dial()
	ours, theirs := socketpair(t)
	defer unix.Close(ours)
	h := header(t, Header{Version: 1, SessionID: "live", Kind: KindSocket, Preread: []byte("x")})
	if r := send(t, c, h, theirs); !r.OK {
		t.Fatalf("handoff refused: %+v", r)
	}
	if r := send(t, c, h, theirs); r.OK || r.Code != CodeAlreadyAttached {
		t.Fatalf("second handoff: %+v, want already_attached", r)
	}
	unix.Close(theirs) // the sidecar holds its own copy now
	// Closing the session closes the sidecar's copy: our end reads EOF.
	if err := f.mgr.CloseSession(context.Background(), "live", "test"); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(ours, false); err != nil {
		t.Fatal(err)
	}
	tv := unix.NsecToTimeval(wait.Nanoseconds())
	if err := unix.SetsockoptTimeval(ours, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if n, err := unix.Read(ours, make([]byte, 16)); n != 0 || err != nil {
		t.Fatalf("read after close = %d, %v; want EOF", n, err)
	}
}

func TestHandoffWhileShuttingDown(t *testing.T) {
	f := newFixture(t, ownPolicy())
	c := f.dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := f.mgr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	ours, theirs := socketpair(t)
	defer unix.Close(ours)
	defer unix.Close(theirs)
	if r := send(t, c, header(t, Header{Version: 1, SessionID: "late", Kind: KindSocket}), theirs); r.OK || r.Code != CodeShuttingDown {
		t.Fatalf("reply %+v, want shutting_down", r)
	}
}
