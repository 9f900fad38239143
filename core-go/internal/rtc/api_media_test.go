package rtc

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
)

// A terminal session's API has no codec: an offer that also asks for video
// gets that section rejected (port 0, no payload type), so a peer cannot
// make porthole-core run RTP machinery in a session that carries none. With
// pion's default API the answer accepted VP8 (and every other codec).
func TestTerminalAnswerRejectsMedia(t *testing.T) {
	m, err := newManager(config.RTC{Interfaces: []string{"lo"}, Loopback: true, MDNS: config.MDNSOff, MaxSessions: 2},
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })

	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{}) // pion's defaults: every codec
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateDataChannel("terminal", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer.SDP, "VP8/90000") {
		t.Fatalf("the offer asks for no video:\n%s", offer.SDP)
	}
	answer, err := m.CreateSession(CreateRequest{SessionID: "media", OfferSDP: offer.SDP, Kind: KindTerminal})
	if err != nil {
		t.Fatal(err)
	}
	var video, data string
	for _, sec := range strings.Split(answer, "\nm=")[1:] {
		switch {
		case strings.HasPrefix(sec, "video "):
			video = sec
		case strings.HasPrefix(sec, "application "):
			data = sec
		}
	}
	if !strings.HasPrefix(video, "video 0 ") || strings.Contains(video, "a=rtpmap") {
		t.Errorf("the video section was not rejected:\nm=%s", video)
	}
	if data == "" || strings.HasPrefix(data, "application 0 ") {
		t.Errorf("the data channel section was not accepted:\n%s", answer)
	}
}
