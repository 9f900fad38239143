package handoff

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/terminal"
)

// Target takes handed-over terminals; *rtc.Manager is one.
type Target interface {
	HandoffTerminal(id string, h rtc.Handoff) error
}

// Server accepts descriptor handoffs on a SOCK_SEQPACKET unix socket. Each
// message is one JSON Header with exactly one descriptor; each gets one
// JSON Reply. A refused message closes what came with it and the
// connection goes on; a refused peer gets a peer_refused reply and is
// disconnected.
type Server struct {
	target Target
	policy Policy
	log    *slog.Logger

	mu     sync.Mutex // guards the fields below
	lis    *net.UnixListener
	conns  map[*net.UnixConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New returns a server handing descriptors to target.
func New(target Target, policy Policy, log *slog.Logger) *Server {
	return &Server{target: target, policy: policy, log: log.With("component", "handoff"), conns: make(map[*net.UnixConn]struct{})}
}

// Serve accepts connections until Close; it returns nil after Close.
func (s *Server) Serve(lis *net.UnixListener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return lis.Close()
	}
	s.lis = lis
	s.mu.Unlock()
	for {
		c, err := lis.AcceptUnix()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("handoff accept: %w", err)
		}
		s.mu.Lock()
		if s.closed || len(s.conns) >= MaxConns {
			s.mu.Unlock()
			s.log.Warn("handoff connection refused", "reason", "too many connections or closing", "max", MaxConns)
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer s.drop(c)
			s.serveConn(c)
		}()
	}
}

func (s *Server) drop(c *net.UnixConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// Close stops accepting, closes every connection and waits for them.
// Descriptors already handed over belong to their sessions.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	if s.lis != nil {
		s.lis.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serveConn(c *net.UnixConn) {
	cred, err := peerCred(c)
	if err == nil {
		err = s.policy.check(cred)
	}
	if err != nil {
		s.log.Warn("handoff peer refused", "err", err, "pid", cred.PID, "uid", cred.UID)
		s.reply(c, Reply{Code: CodePeerRefused, Message: err.Error()})
		return
	}
	buf := make([]byte, MaxHeaderSize)
	oob := make([]byte, syscall.CmsgSpace(maxFDsRead*4))
	for {
		n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil || (n == 0 && oobn == 0) {
			return // the agent closed the connection (or Close did)
		}
		fds, perr := parseRights(oob[:oobn])
		r := s.handle(buf[:n], flags, fds, perr)
		if !r.OK {
			s.log.Info("handoff refused", "code", r.Code, "detail", r.Message)
		}
		if err := s.reply(c, r); err != nil {
			return
		}
	}
}

func (s *Server) reply(c *net.UnixConn, r Reply) error {
	b, _ := json.Marshal(r) // a Reply always encodes
	_, err := c.Write(b)
	if err != nil {
		s.log.Debug("handoff reply failed", "err", err)
	}
	return err
}

// handle turns one message into a handoff. Every descriptor in fds is
// either handed to the target or closed here.
func (s *Server) handle(msg []byte, flags int, fds []int, perr error) Reply {
	keep, keepRing := -1, -1 // closed through an *os.File, not here
	defer func() {
		for _, fd := range fds {
			if fd != keep && fd != keepRing {
				unix.Close(fd)
			}
		}
	}()
	switch {
	case perr != nil:
		return Reply{Code: CodeBadHeader, Message: "bad control message: " + perr.Error()}
	case flags&syscall.MSG_CTRUNC != 0 || len(fds) > 2:
		return Reply{Code: CodeTooManyFDs, Message: "one descriptor per message (two with ring_memfd)"}
	case flags&syscall.MSG_TRUNC != 0:
		return Reply{Code: CodeHeaderTooLarge, Message: fmt.Sprintf("message above %d bytes", MaxHeaderSize)}
	}
	h, err := ParseHeader(msg)
	if err != nil {
		return replyFor(err)
	}
	want := 1
	if h.RingMemfd {
		want = 2
	}
	switch {
	case len(fds) > want:
		return Reply{Code: CodeTooManyFDs, Message: "one descriptor per message (two with ring_memfd)"}
	case len(fds) == 0:
		return Reply{Code: CodeMissingFD, Message: "no descriptor came with the header (SCM_RIGHTS)"}
	case len(fds) < want:
		return Reply{Code: CodeMissingFD, Message: "ring_memfd: the ring's memfd did not come after the terminal's descriptor"}
	}
	fd := fds[0]
	if err := checkKind(fd, h.Kind); err != nil {
		return replyFor(err)
	}
	var ringFile *os.File
	if h.RingMemfd {
		if err := checkKind(fds[1], kindRingFile); err != nil {
			return replyFor(err)
		}
		// Mapped during HandoffTerminal; the mapping outlives this descriptor.
		keepRing = fds[1]
		ringFile = os.NewFile(uintptr(fds[1]), "ring:"+h.SessionID)
		defer ringFile.Close()
	}
	// Non-blocking so that the runtime poller owns it and closing it wakes
	// a blocked read. This changes the open file description, which the
	// agent's duplicate shares.
	if err := unix.SetNonblock(fd, true); err != nil {
		return Reply{Code: CodeBadFD, Message: "set non-blocking: " + err.Error()}
	}
	f := os.NewFile(uintptr(fd), "terminal:"+h.SessionID)
	err = s.target.HandoffTerminal(h.SessionID, rtc.Handoff{
		File: f, Preread: h.Preread, Record: h.Record, RecordInput: h.RecordInput, ViewOnly: h.ViewOnly,
		RingSize: h.RingBytes, RingFile: ringFile,
	})
	if err != nil {
		f.Close()
		keep = fd // closed through f
		return replyFor(err)
	}
	keep = fd
	s.log.Info("descriptor handed over", "session", h.SessionID, "kind", h.Kind)
	return Reply{OK: true}
}

// kindRingFile is the ring's memfd (a regular file), never a header's kind.
const kindRingFile = "ring memfd"

// checkKind makes sure the descriptor is what the header says: a socket
// or a character device (a PTY master), or a ring's memfd a regular file. Anything else (a regular file, a
// directory) cannot be pumped.
func checkKind(fd int, kind string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return refuse(CodeBadFD, "fstat: %v", err)
	}
	want := uint32(unix.S_IFSOCK)
	switch kind {
	case KindPTY:
		want = unix.S_IFCHR
	case kindRingFile:
		want = unix.S_IFREG
	}
	if st.Mode&unix.S_IFMT != want {
		return refuse(CodeBadFD, "the descriptor is not a %s (mode %#o)", kind, st.Mode&unix.S_IFMT)
	}
	return nil
}

// parseRights returns every descriptor in the control messages.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != syscall.SOL_SOCKET || msgs[i].Header.Type != syscall.SCM_RIGHTS {
			continue
		}
		got, err := syscall.ParseUnixRights(&msgs[i])
		if err != nil {
			return fds, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// replyFor maps a refusal or a domain error to a reply.
func replyFor(err error) Reply {
	var r *refusal
	code := CodeInternal
	switch {
	case errors.As(err, &r):
		return Reply{Code: r.code, Message: r.message}
	case errors.Is(err, rtc.ErrSessionNotFound), errors.Is(err, rtc.ErrInvalidSessionID):
		code = CodeUnknownSession
	case errors.Is(err, rtc.ErrNotTerminal):
		code = CodeNotTerminal
	case errors.Is(err, terminal.ErrAlreadyAttached), errors.Is(err, terminal.ErrDetached):
		code = CodeAlreadyAttached
	case errors.Is(err, terminal.ErrOutputTooLarge):
		code = CodePrereadTooLarge
	case errors.Is(err, rtc.ErrShutdown):
		code = CodeShuttingDown
	}
	return Reply{Code: code, Message: err.Error()}
}
