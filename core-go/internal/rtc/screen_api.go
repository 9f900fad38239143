package rtc

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/screen"
)

// vp8PayloadType is the payload type we offer VP8 under; an answer takes
// the offer's own number, so this only matters for our own offers (tests).
const vp8PayloadType = 96

// newScreenAPI builds the pion API of one screen session: VP8 only, NACK
// responses, RTCP reports, stats, transport-wide sequence numbers, playout
// delay 0 (playout_delay.go), no close by pion on the peer's DTLS close
// (pcstats.go), and Google Congestion Control (send side, from the peer's TWCC feedback)
// bounded by the session's bitrate limits. The estimator of the session's
// peer connection is delivered on the returned channel when the peer
// connection is created.
//
// One API per session because the GCC bounds are per session; building one
// costs microseconds next to a peer connection.
func newScreenAPI(se *webrtc.SettingEngine, cfg screen.Config) (*webrtc.API, <-chan cc.BandwidthEstimator, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:  webrtc.MimeTypeVP8,
			ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
				{Type: webrtc.TypeRTCPFBTransportCC}, // the peer's TWCC feedback feeds GCC
			},
		},
		PayloadType: vp8PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("register VP8: %w", err)
	}
	ir := &interceptor.Registry{}
	// No pacer: a screen frame goes out at once (latency is the point), and
	// the encoder's CBR rate control, driven by GCC, keeps the average down.
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(cfg.StartKbps()*1000),
			gcc.SendSideBWEMinBitrate(cfg.MinKbps*1000),
			gcc.SendSideBWEMaxBitrate(cfg.MaxKbps*1000),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.WithLoggerFactory(se.LoggerFactory),
		)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("congestion control: %w", err)
	}
	estimators := make(chan cc.BandwidthEstimator, 1)
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		select {
		case estimators <- e:
		default: // one peer connection per API
		}
	})
	ir.Add(ccf)
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: PlayoutDelayURI},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("playout delay extension: %w", err)
	}
	ir.Add(playoutDelayFactory{})
	for _, configure := range []func() error{
		func() error { return webrtc.ConfigureTWCCHeaderExtensionSender(m, ir) },
		func() error { return webrtc.ConfigureNack(m, ir) },
		func() error { return webrtc.ConfigureRTCPReports(ir) },
		func() error { return webrtc.ConfigureStatsInterceptor(ir) },
	} {
		if err := configure(); err != nil {
			return nil, nil, fmt.Errorf("screen interceptors: %w", err)
		}
	}
	// The session closes the peer connection itself when the peer closes
	// (pcstats.go: pion's own close would race with the session's GetStats).
	sse := *se
	sse.DisableCloseByDTLS(true)
	return webrtc.NewAPI(webrtc.WithSettingEngine(sse), webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir)),
		estimators, nil
}
