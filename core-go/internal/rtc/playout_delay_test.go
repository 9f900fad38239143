package rtc

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

type captureWriter struct{ h *rtp.Header }

func (c *captureWriter) Write(h *rtp.Header, b []byte, _ interceptor.Attributes) (int, error) {
	c.h = h
	return len(b), nil
}

func TestPlayoutDelayStampsNegotiatedStreams(t *testing.T) {
	i, _ := playoutDelayFactory{}.NewInterceptor("")
	var got captureWriter
	w := i.BindLocalStream(&interceptor.StreamInfo{RTPHeaderExtensions: []interceptor.RTPHeaderExtension{
		{URI: "urn:ietf:params:rtp-hdrext:sdes:mid", ID: 3}, {URI: PlayoutDelayURI, ID: 7},
	}}, &got)
	if _, err := w.Write(&rtp.Header{}, []byte{1}, nil); err != nil {
		t.Fatal(err)
	}
	var pd rtp.PlayoutDelayExtension
	if err := pd.Unmarshal(got.h.GetExtension(7)); err != nil || pd.MinDelay != 0 || pd.MaxDelay != 0 {
		t.Fatalf("extension %v (%v)", got.h.GetExtension(7), err)
	}
	// Not negotiated: packets go out untouched.
	var plain captureWriter
	w = i.BindLocalStream(&interceptor.StreamInfo{}, &plain)
	if _, err := w.Write(&rtp.Header{}, []byte{1}, nil); err != nil {
		t.Fatal(err)
	}
	if plain.h.Extension {
		t.Fatal("stamped a stream that did not negotiate the extension")
	}
}
