package rpcserver

// Fuzz targets of the gRPC API's outside input: the offer SDP of
// CreateSession and the candidate fields of AddRemoteCandidate, sent through
// a real gRPC client to the real Server and rtc Manager (pion, loopback
// only) over a unix socket. `make fuzz` runs them; the seeds in
// testdata/fuzz run in every `go test`.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/config"
	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/testpeer"
)

const (
	// fuzzCallTimeout bounds one call; generous for a loaded 2-core machine.
	fuzzCallTimeout = 10 * time.Second

	// fuzzMaxSessions is the fuzz sidecar's session limit: each input opens
	// at most one session and closes it again.
	fuzzMaxSessions = 4

	// fuzzHeapLimit bounds the live heap of a fuzz worker. A sidecar with no
	// session holds a few MiB; a session or candidate queue kept per input
	// would pass this within a few thousand inputs.
	fuzzHeapLimit = 256 << 20

	// fuzzHeapCheckEvery is how often (in inputs) the heap is measured; a
	// forced GC per input would halve the exec rate.
	fuzzHeapCheckEvery = 512
)

// fuzzSidecar is one sidecar (Manager + gRPC server on a unix socket) and a
// client, shared by every input of one fuzz worker.
type fuzzSidecar struct {
	mgr    *rtc.Manager
	client rpcv1.SidecarClient
	inputs atomic.Uint64
	ids    atomic.Uint64
}

func newFuzzSidecar(f testing.TB) *fuzzSidecar {
	f.Helper()
	mgr, err := rtc.New(config.RTC{
		Interfaces:  []string{"lo"},
		Loopback:    true,
		MDNS:        config.MDNSOff,
		MaxSessions: fuzzMaxSessions,
	}, testLogger())
	if err != nil {
		f.Fatal(err)
	}
	sock := filepath.Join(f.TempDir(), "core.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		f.Fatal(err)
	}
	gs, _ := NewGRPCServer(New(mgr, testLogger()))
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = mgr.Shutdown(ctx)
		gs.Stop()
		<-served
		conn.Close()
	})
	return &fuzzSidecar{mgr: mgr, client: rpcv1.NewSidecarClient(conn)}
}

// nextID is a fresh valid session id.
func (fs *fuzzSidecar) nextID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, fs.ids.Add(1))
}

// checkBounds fails when a session outlived its input or the heap grew
// past fuzzHeapLimit.
func (fs *fuzzSidecar) checkBounds(t *testing.T) {
	t.Helper()
	if n := fs.mgr.Len(); n != 0 {
		t.Fatalf("%d sessions left after the input (refused or closed ones must be gone)", n)
	}
	if fs.inputs.Add(1)%fuzzHeapCheckEvery != 0 {
		return
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > fuzzHeapLimit {
		t.Fatalf("live heap %d MiB after %d inputs, limit %d MiB", ms.HeapAlloc>>20, fs.inputs.Load(), fuzzHeapLimit>>20)
	}
}

// wantCode fails unless err is a status with one of the codes and a
// message; it returns the code (OK for nil).
func wantCode(t *testing.T, what string, err error, want ...codes.Code) codes.Code {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%s: not a gRPC status: %v", what, err)
	}
	if err != nil && st.Message() == "" {
		t.Fatalf("%s: %s without a message", what, st.Code())
	}
	for _, c := range want {
		if st.Code() == c {
			return c
		}
	}
	t.Fatalf("%s: %s %q, want one of %v", what, st.Code(), st.Message(), want)
	return 0
}

func fuzzCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), fuzzCallTimeout)
	t.Cleanup(cancel)
	return ctx
}

// closeFuzzSession closes a session the input created; it must close.
func (fs *fuzzSidecar) closeSession(t *testing.T, id string) {
	t.Helper()
	_, err := fs.client.CloseSession(fuzzCtx(t), &rpcv1.CloseSessionRequest{SessionId: id})
	wantCode(t, "CloseSession", err, codes.OK)
}

// FuzzCreateSession: any offer SDP is answered or refused with
// INVALID_ARGUMENT; an answer is a parseable SDP with a data section; no
// session outlives its input.
func FuzzCreateSession(f *testing.F) {
	fs := newFuzzSidecar(f)
	// A live pion offer, as the tests' peer makes it (its trickled
	// candidates are in the AddRemoteCandidate corpus).
	f.Add(testpeer.New(f, testpeer.Options{}).Offer())
	f.Add("")
	f.Add("v=0\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		offer = protoString(offer)
		id := fs.nextID("offer")
		resp, err := fs.client.CreateSession(fuzzCtx(t), &rpcv1.CreateSessionRequest{
			SessionId: id, OfferSdp: offer, Kind: rtc.KindTerminal,
		})
		if wantCode(t, "CreateSession", err, codes.OK, codes.InvalidArgument) == codes.OK {
			if len(offer) > rtc.MaxOfferSize {
				t.Fatalf("offer of %d bytes accepted", len(offer))
			}
			var answer sdp.SessionDescription
			if err := answer.UnmarshalString(resp.GetAnswerSdp()); err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			if !hasApplication(&answer) {
				t.Fatal("answer without a data (m=application) section")
			}
			fs.closeSession(t, id)
		}
		fs.checkBounds(t)
	})
}

// protoString makes s valid UTF-8: proto3 string fields cannot carry
// anything else (the agent's protobuf refuses to encode it, as grpc-go's
// client does), so other bytes never reach the sidecar.
func protoString(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// FuzzCreateSessionLine replaces one line of a real offer (pion's, or
// Chromium's with nine candidates, from the seed corpus) with fuzzed text,
// so that inputs get past the SDP grammar into pion's offer handling
// (fingerprint, setup role, ICE credentials, SCTP attributes, candidates).
// The invariants are FuzzCreateSession's.
func FuzzCreateSessionLine(f *testing.F) {
	fs := newFuzzSidecar(f)
	bases := []string{
		testpeer.New(f, testpeer.Options{}).Offer(),
		readSeed(f, "testdata/fuzz/FuzzCreateSession/chromium-terminal-offer-9cands"),
	}
	f.Add(uint8(0), uint8(0), "v=0")
	f.Add(uint8(1), uint8(20), "a=fingerprint:sha-256 00")
	f.Add(uint8(1), uint8(22), "a=setup:passive")
	f.Add(uint8(0), uint8(15), "a=ice-ufrag:")
	f.Fuzz(func(t *testing.T, base, line uint8, text string) {
		lines := strings.Split(bases[int(base)%len(bases)], "\r\n")
		lines[int(line)%len(lines)] = protoString(text)
		offer := strings.Join(lines, "\r\n")
		id := fs.nextID("line")
		resp, err := fs.client.CreateSession(fuzzCtx(t), &rpcv1.CreateSessionRequest{
			SessionId: id, OfferSdp: offer, Kind: rtc.KindTerminal,
		})
		if wantCode(t, "CreateSession", err, codes.OK, codes.InvalidArgument) == codes.OK {
			var answer sdp.SessionDescription
			if err := answer.UnmarshalString(resp.GetAnswerSdp()); err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			fs.closeSession(t, id)
		}
		fs.checkBounds(t)
	})
}

// readSeed returns the one string argument of a corpus file.
func readSeed(f *testing.F, path string) string {
	f.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	_, arg, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(arg, "string("), ")"))
	if err != nil {
		f.Fatalf("%s: %v", path, err)
	}
	return s
}

// TestCreateSessionBracketedICEURL replays what FuzzValidateICEURL found
// through the API: a per-session ICE server "turns:[2001:db8::1]5349" made
// pion/stun recurse until the sidecar died of a stack overflow; it is now
// refused with INVALID_ARGUMENT and the sidecar serves on.
func TestCreateSessionBracketedICEURL(t *testing.T) {
	fs := newFuzzSidecar(t)
	offer := testpeer.New(t, testpeer.Options{}).Offer()
	for _, u := range []string{"turns:[2001:db8::1]5349", "stun:[::1]x:3478"} {
		_, err := fs.client.CreateSession(fuzzCtx(t), &rpcv1.CreateSessionRequest{
			SessionId: fs.nextID("ice"), OfferSdp: offer, Kind: rtc.KindTerminal,
			IceServers: []*rpcv1.IceServer{{Urls: []string{u}, Username: "u", Credential: "c"}},
		})
		wantCode(t, "CreateSession with "+u, err, codes.InvalidArgument)
	}
	id := fs.nextID("ice")
	_, err := fs.client.CreateSession(fuzzCtx(t), &rpcv1.CreateSessionRequest{SessionId: id, OfferSdp: offer, Kind: rtc.KindTerminal})
	wantCode(t, "CreateSession after the refusals", err, codes.OK)
	fs.closeSession(t, id)
}

func hasApplication(d *sdp.SessionDescription) bool {
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media == "application" {
			return true
		}
	}
	return false
}

// FuzzAddRemoteCandidate sends one candidate before its session exists
// (queued), then creates the session (the queued one is applied), then
// sends it again to the live session. Each answer is OK or
// INVALID_ARGUMENT; a candidate refused before the session is refused
// after it too; nothing stays queued or open after the input.
func FuzzAddRemoteCandidate(f *testing.F) {
	fs := newFuzzSidecar(f)
	peer := testpeer.New(f, testpeer.Options{})
	offer := peer.Offer()
	// The peer's own trickled candidates are real seeds.
	deadline := time.After(wait)
gather:
	for {
		select {
		case c := <-peer.Candidates:
			f.Add(c, "0", int32(0))
			if c == "" {
				break gather
			}
		case <-deadline:
			f.Fatal("the test peer gathered no candidates")
		}
	}
	f.Fuzz(func(t *testing.T, cand, mid string, mline int32) {
		cand, mid = protoString(cand), protoString(mid)
		id := fs.nextID("cand")
		req := &rpcv1.AddRemoteCandidateRequest{SessionId: id, Candidate: &rpcv1.IceCandidate{
			Candidate: cand, SdpMid: mid, SdpMlineIndex: mline,
		}}
		resp, err := fs.client.AddRemoteCandidate(fuzzCtx(t), req)
		before := wantCode(t, "AddRemoteCandidate before the session", err, codes.OK, codes.InvalidArgument)
		if before == codes.OK && !resp.GetQueued() {
			t.Fatal("a candidate for a session that does not exist yet was accepted but not queued")
		}

		_, err = fs.client.CreateSession(fuzzCtx(t), &rpcv1.CreateSessionRequest{
			SessionId: id, OfferSdp: offer, Kind: rtc.KindTerminal,
		})
		// A queued candidate pion refuses is logged and dropped, never a
		// reason to refuse the offer.
		wantCode(t, "CreateSession after an early candidate", err, codes.OK)

		resp, err = fs.client.AddRemoteCandidate(fuzzCtx(t), req)
		after := wantCode(t, "AddRemoteCandidate to the live session", err, codes.OK, codes.InvalidArgument)
		if before == codes.InvalidArgument && after == codes.OK {
			t.Fatal("refused before the session, accepted by it")
		}
		if after == codes.OK && resp.GetQueued() {
			t.Fatal("a candidate for a live session was queued")
		}
		fs.closeSession(t, id)
		fs.checkBounds(t)
	})
}
