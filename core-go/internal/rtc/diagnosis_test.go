package rtc

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
	"porthole/core-go/internal/testpeer"
)

// Test TURN credential for the in-process server below; never a real one.
const (
	testTURNUser  = "diag-user"
	testTURNPass  = "diag-pass"
	testTURNRealm = "porthole.test"
)

func diagManager(t *testing.T, servers ...config.ICEServer) *Manager {
	t.Helper()
	m, err := newManager(config.RTC{Interfaces: []string{"lo"}, Loopback: true, MDNS: config.MDNSOff, MaxSessions: 4,
		ICEServers: servers},
		slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(se *webrtc.SettingEngine) {
			se.SetICETimeouts(testDisconnectedTimeout, testFailedTimeout, testKeepAlive)
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	m.diagInterval = 100 * time.Millisecond // well inside the 1.3 s until ICE fails
	return m
}

// startTURN runs pion's TURN server on a loopback UDP port, relaying on
// 127.0.0.1, and returns its turn: URL.
func startTURN(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: testTURNRealm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != testTURNUser {
				return "", nil, false
			}
			return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, testTURNPass), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return "turn:" + pc.LocalAddr().String() + "?transport=udp"
}

// closedTCPPort is a loopback port nothing listens on (bound, then released).
func closedTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

func waitGathered(t *testing.T, m *Manager, id string) SessionStats {
	t.Helper()
	deadline := time.Now().Add(testpeer.Timeout)
	for {
		st, err := m.Stats(id)
		if err != nil {
			t.Fatal(err)
		}
		if d := st[0].ICE; d != nil && d.GatheringState == webrtc.ICEGatheringStateComplete.String() {
			return st[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("gathering did not complete: %+v", st[0].ICE)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDiagnosisRelayAllocated(t *testing.T) {
	url := startTURN(t)
	m := diagManager(t)
	p := testpeer.New(t, testpeer.Options{})
	answer, err := m.CreateSession(CreateRequest{SessionID: "relayed", OfferSDP: p.Offer(), Kind: KindTerminal,
		ICEServers: []config.ICEServer{{URLs: []string{url}, Username: testTURNUser, Credential: testTURNPass}}})
	if err != nil {
		t.Fatal(err)
	}
	p.Answer(answer)
	d := waitGathered(t, m, "relayed").ICE
	if d.TURNAllocation != TURNOK || d.Relay == 0 || d.Host == 0 || d.TURNError != "" {
		t.Fatalf("want a relay candidate and allocation ok, got %+v", d)
	}
	if len(d.TURNURLs) != 1 || d.TURNURLs[0] != url {
		t.Fatalf("TURN URLs %v, want [%s]", d.TURNURLs, url)
	}
	var relay *CandidateInfo
	for i, c := range d.Local {
		if c.Type == "relay" {
			relay = &d.Local[i]
		}
	}
	if relay == nil || relay.RelayProtocol != "udp" || !strings.HasPrefix(relay.Address, "127.0.0.1:") {
		t.Fatalf("relay candidate %+v in %+v", relay, d.Local)
	}
	for _, c := range d.Local {
		for _, s := range []string{testTURNUser, testTURNPass} {
			if strings.Contains(c.URL, s) {
				t.Fatalf("a credential in a candidate URL: %q", c.URL)
			}
		}
	}
}

func TestDiagnosisTURNUnreachableOnFailure(t *testing.T) {
	port := closedTCPPort(t)
	url := "turn:127.0.0.1:" + strconv.Itoa(port) + "?transport=tcp"
	m := diagManager(t)
	w, err := m.Watch()
	if err != nil {
		t.Fatal(err)
	}
	p := testpeer.New(t, testpeer.Options{})
	answer, err := m.CreateSession(CreateRequest{SessionID: "noturn", OfferSDP: p.Offer(), Kind: KindTerminal,
		ICEServers: []config.ICEServer{{URLs: []string{url}, Username: testTURNUser, Credential: testTURNPass}}})
	if err != nil {
		t.Fatal(err)
	}
	p.Answer(answer)
	// A remote candidate that leads nowhere: ICE fails, and the closed
	// event carries what it saw.
	if _, err := m.AddRemoteCandidate("noturn", Candidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", SDPMid: "0"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(testpeer.Timeout)
	for {
		select {
		case e := <-w.Events():
			if e.Kind != EventClosed || e.SessionID != "noturn" {
				continue
			}
			d := e.ICE
			if e.Reason != ReasonICEFailed || d == nil {
				t.Fatalf("closed with %q, diagnosis %+v", e.Reason, d)
			}
			if d.TURNAllocation != TURNFailed || d.Relay != 0 || d.Host == 0 {
				t.Fatalf("want a failed allocation and host candidates only, got %+v", d)
			}
			if !strings.Contains(d.TURNError, "127.0.0.1:"+strconv.Itoa(port)) {
				t.Fatalf("TURN error %q does not name the server", d.TURNError)
			}
			var tried bool
			for _, pr := range d.Pairs {
				if pr.Remote.Address == "127.0.0.1:9" && pr.State != "succeeded" && !pr.Nominated {
					tried = true
				}
			}
			if !tried {
				t.Fatalf("no unsucceeded pair towards 127.0.0.1:9 in %+v", d.Pairs)
			}
			return
		case <-deadline:
			t.Fatal("no closed event")
		}
	}
}

func TestTURNAddresses(t *testing.T) {
	got := turnAddresses([]string{"turn:10.0.0.1:3478?transport=tcp", "turns:example.org", "turn:[::1]:99", "turn:h"})
	want := []string{"10.0.0.1:3478", "example.org:5349", "[::1]:99", "h:3478"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestTURNErrorsBoundedAndMatched(t *testing.T) {
	var te turnErrors
	start := time.Now()
	te.note("something unrelated")
	for i := 0; i < maxTURNErrors+5; i++ {
		te.note("failed to allocate on TURN client 10.0.0.1:" + strconv.Itoa(i) + " timeout")
	}
	if len(te.list) != maxTURNErrors {
		t.Fatalf("kept %d, want %d", len(te.list), maxTURNErrors)
	}
	if got := te.since(start, []string{"10.0.0.1:3"}); !strings.Contains(got, "10.0.0.1:3") {
		t.Fatalf("since: %q", got)
	}
	if got := te.since(time.Now().Add(time.Second), []string{"10.0.0.1:3"}); got != "" {
		t.Fatalf("an error from before the start: %q", got)
	}
}

func TestTURNTestAllocates(t *testing.T) {
	url := startTURN(t)
	m := diagManager(t)
	res, err := m.TestTURN(context.Background(),
		[]config.ICEServer{{URLs: []string{url}, Username: testTURNUser, Credential: testTURNPass}}, testpeer.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Relays) == 0 || res.TimedOut || res.Error != "" || res.Relays[0].RelayProtocol != "udp" {
		t.Fatalf("want a relay candidate, got %+v", res)
	}
}

func TestTURNTestReportsTheFailure(t *testing.T) {
	port := closedTCPPort(t)
	m := diagManager(t)
	res, err := m.TestTURN(context.Background(), []config.ICEServer{{
		URLs: []string{"turn:127.0.0.1:" + strconv.Itoa(port) + "?transport=tcp"}, Username: testTURNUser, Credential: testTURNPass}},
		testpeer.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Relays) != 0 || !strings.Contains(res.Error, "127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("want no relay and the refused connection, got %+v", res)
	}
	if strings.Contains(res.Error, testTURNPass) {
		t.Fatalf("a credential in the error: %q", res.Error)
	}
	// No TURN server at all: refused before anything is tried.
	if _, err := m.TestTURN(context.Background(), []config.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}}, 0); err == nil {
		t.Fatal("a STUN-only test was accepted")
	}
}
