package rtc

// Fuzz targets of the parsers in front of pion: the offer check of
// CreateSession and the candidate check of AddRemoteCandidate. They run
// without peer connections, so they reach many more inputs per second than
// the end-to-end targets in package rpcserver. `make fuzz` runs them; the
// seeds in testdata/fuzz run in every `go test`.

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

// FuzzCheckOffer: an offer is refused with ErrBadSDP or ErrOfferTooLarge,
// or accepted with the section the session kind needs and that section's
// mid.
func FuzzCheckOffer(f *testing.F) {
	f.Add("", false)
	f.Add("v=0\r\n", true)
	f.Fuzz(func(t *testing.T, offer string, screen bool) {
		kind := KindTerminal
		if screen {
			kind = KindScreen
		}
		mid, err := checkOffer(offer, kind)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrOfferTooLarge) {
				t.Fatalf("untyped refusal: %v", err)
			}
			if errors.Is(err, ErrOfferTooLarge) != (len(offer) > MaxOfferSize) {
				t.Fatalf("%d bytes: %v", len(offer), err)
			}
			return
		}
		if len(offer) > MaxOfferSize {
			t.Fatalf("offer of %d bytes accepted", len(offer))
		}
		var d sdp.SessionDescription
		if err := d.UnmarshalString(offer); err != nil {
			t.Fatalf("accepted an offer that does not parse: %v", err)
		}
		want := map[string]string{KindTerminal: "application", KindScreen: "video"}[kind]
		found := false
		for _, md := range d.MediaDescriptions {
			found = found || md.MediaName.Media == want
		}
		if !found {
			t.Fatalf("%s offer accepted without an m=%s section", kind, want)
		}
		if len(mid) > len(offer) {
			t.Fatalf("mid %q longer than the offer", mid)
		}
	})
}

// FuzzCheckCandidate: a candidate is refused with ErrBadCandidate or
// accepted; an accepted one converts to an ICECandidateInit whose m-line
// index is the given one when it fits 16 bits and absent otherwise.
func FuzzCheckCandidate(f *testing.F) {
	f.Add("", "0", int32(0))
	f.Add("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "0", int32(-1))
	f.Fuzz(func(t *testing.T, cand, mid string, mline int32) {
		c := Candidate{Candidate: cand, SDPMid: mid, SDPMLineIndex: mline}
		if err := checkCandidate(c); err != nil {
			if !errors.Is(err, ErrBadCandidate) {
				t.Fatalf("untyped refusal: %v", err)
			}
			if strings.TrimPrefix(cand, "candidate:") == "" {
				t.Fatalf("end of candidates refused: %v", err)
			}
			return
		}
		init := candidateInit(c)
		if init.Candidate != cand {
			t.Fatalf("candidate changed: %q", init.Candidate)
		}
		switch {
		case mline < 0 || mline > 0xffff:
			if init.SDPMLineIndex != nil {
				t.Fatalf("m-line index %d became %d", mline, *init.SDPMLineIndex)
			}
		case init.SDPMLineIndex == nil || int32(*init.SDPMLineIndex) != mline:
			t.Fatalf("m-line index %d lost", mline)
		}
		if (mid == "") != (init.SDPMid == nil) || (init.SDPMid != nil && *init.SDPMid != mid) {
			t.Fatalf("mid %q became %v", mid, init.SDPMid)
		}
	})
}
