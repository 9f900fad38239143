package rpcserver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/screen/xvfbtest"
	"porthole/core-go/internal/testpeer"
)

// screenPeer is a test peer receiving video, with an `input` channel.
type screenPeer struct {
	*testpeer.Peer
	packets atomic.Int64
	track   chan *webrtc.TrackRemote
}

func newScreenPeer(t *testing.T) *screenPeer { return newScreenPeerOn(t, "input") }

// newScreenPeerOn is newScreenPeer whose data channel has this label.
func newScreenPeerOn(t *testing.T, label string) *screenPeer {
	p := &screenPeer{Peer: testpeer.New(t, testpeer.Options{Label: label}), track: make(chan *webrtc.TrackRemote, 1)}
	if _, err := p.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	p.PC.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.track <- tr
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			p.packets.Add(1)
		}
	})
	return p
}

func (h *harness) screenStats(id string) *rpcv1.ScreenStats {
	h.t.Helper()
	resp, err := h.client.GetStats(ctxT(h.t), &rpcv1.GetStatsRequest{SessionId: id})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.GetSessions()[0].GetScreen()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mouse(t *testing.T, display string) string {
	t.Helper()
	cmd := exec.Command("xdotool", "getmouselocation", "--shell")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(out))[:2], " ")
}

// A screen session end to end over gRPC and pion: video flows, a PLI gets a
// keyframe, input moves the pointer (mapped to the display), bad input is
// answered with an error and the stream goes on; closing leaks nothing
// (TestMain's goleak check).
func TestScreenSession(t *testing.T) {
	d := xvfbtest.Start(t, 1280, 720)
	h := newHarness(t, loopbackRTC())
	p := newScreenPeer(t)
	h.createWith("scr", p.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{
		Display: d, Width: 640, Height: 360, Fps: 30, AllowInput: true,
	}})
	p.WaitOpen()
	var track *webrtc.TrackRemote
	select {
	case track = <-p.track:
	case <-time.After(wait):
		t.Fatal("no video track")
	}
	if mime := track.Codec().MimeType; mime != webrtc.MimeTypeVP8 {
		t.Fatalf("codec %s", mime)
	}
	answer := p.PC.RemoteDescription().SDP
	for _, want := range []string{"transport-cc", "nack pli", "ccm fir", "transport-wide-cc"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q", want)
		}
	}
	waitUntil(t, "video packets", func() bool { return p.packets.Load() > 0 })
	time.Sleep(600 * time.Millisecond) // past the first keyframe's rate limit
	before := h.screenStats("scr").GetKeyframes()
	if err := p.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a keyframe after PLI", func() bool {
		st := h.screenStats("scr")
		return st.GetKeyframeRequests() >= 1 && st.GetKeyframes() > before
	})

	p.SendText(`{"type":"move","x":320,"y":180}`)
	p.SendText(`{"type":"ping"}`)
	if m := p.Next(); string(m.Data) != `{"type":"pong"}` {
		t.Fatalf("reply %s", m.Data)
	}
	if got := mouse(t, d); got != "X=640 Y=360" {
		t.Fatalf("pointer at %s", got)
	}
	for _, bad := range []string{`{"type":"move","x":640,"y":0}`, `}{`, `{"type":"key","keysym":268435455,"down":true}`} {
		p.SendText(bad)
		var reply map[string]string
		if err := json.Unmarshal(p.Next().Data, &reply); err != nil || reply["type"] != "error" || reply["code"] == "" {
			t.Fatalf("%s: reply %v (%v)", bad, reply, err)
		}
	}
	if got := mouse(t, d); got != "X=640 Y=360" {
		t.Fatalf("bad input moved the pointer to %s", got)
	}
	n := p.packets.Load()
	xvfbtest.Fill(t, d, "#00ff00")
	waitUntil(t, "video after bad input", func() bool { return p.packets.Load() > n })
	st := h.screenStats("scr")
	if st.GetInputEvents() != 1 || st.GetInputErrors() != 3 || st.GetVideoWidth() != 640 || st.GetDisplayWidth() != 1280 {
		t.Errorf("stats %v", st)
	}
	// The peer (pion's default interceptors) sends TWCC feedback; GCC moves
	// the encoder's target away from its 2000 kbps start.
	waitUntil(t, "a bitrate set by congestion control", func() bool {
		xvfbtest.Fill(t, d, fmt.Sprintf("#%06x", time.Now().UnixNano()&0xffffff)) // keep frames coming
		return h.screenStats("scr").GetTargetBitrateKbps() != 2000
	})
	if _, err := h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "scr"}); err != nil {
		t.Fatal(err)
	}
	if r := h.waitClosed("scr"); r != "closed_by_agent" {
		t.Fatalf("closed with %s", r)
	}
}

// Without allow_input every input message is refused and nothing moves.
func TestScreenViewOnly(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	h := newHarness(t, loopbackRTC())
	p := newScreenPeer(t)
	h.createWith("view", p.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{Display: d}})
	p.WaitOpen()
	before := mouse(t, d)
	p.SendText(`{"type":"move","x":10,"y":10}`)
	if m := p.Next(); !strings.Contains(string(m.Data), `"input_not_allowed"`) {
		t.Fatalf("reply %s", m.Data)
	}
	if after := mouse(t, d); after != before {
		t.Fatalf("pointer moved: %s -> %s", before, after)
	}
}

// Bad options and an unreachable display are refused with clear codes.
func TestScreenCreateErrors(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	for _, c := range []struct {
		opts *rpcv1.ScreenOptions
		code codes.Code
	}{
		{nil, codes.InvalidArgument},
		{&rpcv1.ScreenOptions{}, codes.InvalidArgument},
		{&rpcv1.ScreenOptions{Display: ":1", Width: 641, Height: 360}, codes.InvalidArgument},
		{&rpcv1.ScreenOptions{Display: ":1", Fps: 1000}, codes.InvalidArgument},
		{&rpcv1.ScreenOptions{Display: ":1", MinBitrateKbps: 5000, MaxBitrateKbps: 1000}, codes.InvalidArgument},
		{&rpcv1.ScreenOptions{Display: ":4242"}, codes.FailedPrecondition},
	} {
		p := newScreenPeer(t)
		_, err := h.client.CreateSession(ctxT(t), &rpcv1.CreateSessionRequest{
			SessionId: "bad", OfferSdp: p.Offer(), Kind: "screen", Screen: c.opts})
		if status.Code(err) != c.code {
			t.Errorf("%v: got %v, want %v", c.opts, err, c.code)
		}
	}
	// A terminal-only offer (no video section) cannot be a screen.
	p := testpeer.New(t, testpeer.Options{})
	_, err := h.client.CreateSession(ctxT(t), &rpcv1.CreateSessionRequest{
		SessionId: "novideo", OfferSdp: p.Offer(), Kind: "screen", Screen: &rpcv1.ScreenOptions{Display: ":1"}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("offer without video: %v", err)
	}
}

// An X server that exits ends its screen sessions with screen_lost; the
// sidecar lives on and serves the next session.
func TestScreenLost(t *testing.T) {
	d, kill := xvfbtest.StartKillable(t, 640, 480)
	h := newHarness(t, loopbackRTC())
	p := newScreenPeer(t)
	h.createWith("lost", p.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{
		Display: d, Width: 640, Height: 480, AllowInput: true}})
	p.WaitOpen()
	waitUntil(t, "video packets", func() bool { return p.packets.Load() > 0 })
	kill()
	if r := h.waitClosed("lost"); r != "screen_lost" {
		t.Fatalf("closed with %s", r)
	}
	d2 := xvfbtest.Start(t, 640, 480)
	p2 := newScreenPeer(t)
	h.createWith("next", p2.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{Display: d2}})
	p2.WaitOpen()
	waitUntil(t, "video packets", func() bool { return p2.packets.Load() > 0 })
}

// A peer that closes ends its screen session with peer_closed (the session
// closes the peer connection itself, not pion: rtc/pcstats.go), whether or
// not stats are being read meanwhile.
func TestScreenPeerClose(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	h := newHarness(t, loopbackRTC())
	p := newScreenPeer(t)
	h.createWith("bye", p.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{Display: d}})
	p.WaitOpen()
	waitUntil(t, "video packets", func() bool { return p.packets.Load() > 0 })
	stop := make(chan struct{})
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = h.client.GetStats(context.Background(), &rpcv1.GetStatsRequest{SessionId: "bye"})
		}
	}()
	if err := p.PC.Close(); err != nil {
		t.Fatal(err)
	}
	r := h.waitClosed("bye")
	close(stop)
	<-reading
	if r != "peer_closed" {
		t.Fatalf("closed with %s", r)
	}
}
