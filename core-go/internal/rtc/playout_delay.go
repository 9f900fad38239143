package rtc

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// PlayoutDelayURI is the RTP header extension by which a sender tells the
// receiver how long it may buffer frames before showing them
// (webrtc.org/experiments/rtp-hdrext/playout-delay).
const PlayoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// playoutDelayFactory builds the interceptor that stamps every outgoing
// packet of a screen track with playout delay 0..0: show each frame as soon
// as it is decoded. A remote screen is interactive; Chromium otherwise grows
// its jitter buffer with the jitter it measures, which on a busy device is
// hundreds of milliseconds between a click and its effect. Only streams
// whose negotiation kept the extension are stamped.
type playoutDelayFactory struct{}

func (playoutDelayFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &playoutDelay{}, nil
}

type playoutDelay struct{ interceptor.NoOp }

func (*playoutDelay) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == PlayoutDelayURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return w
	}
	payload, err := rtp.PlayoutDelayExtension{MinDelay: 0, MaxDelay: 0}.Marshal()
	if err != nil {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, b []byte, a interceptor.Attributes) (int, error) {
		if err := h.SetExtension(id, payload); err != nil {
			return 0, err
		}
		return w.Write(h, b, a)
	})
}
