package rtc

import (
	"net/netip"
	"strings"
	"testing"

	"porthole/core-go/internal/config"
)

func TestRemoteFilterDefaults(t *testing.T) {
	f := newRemoteFilter(config.RTC{})
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.9.9.9": true, "::1": true, "169.254.169.254": true, "169.254.1.1": true,
		"0.0.0.0": true, "::": true, "fe80::1": true, "224.0.0.251": true, "ff02::1": true,
		"255.255.255.255": true, "::ffff:127.0.0.1": true, "::ffff:169.254.169.254": true,
		"10.213.7.1": false, "192.168.1.20": false, "203.0.113.7": false, "2001:db8::1": false,
	} {
		if got := f.refuses(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: refused %v, want %v", addr, got, want)
		}
	}
}

func TestRemoteFilterKnobs(t *testing.T) {
	// --ice-loopback: loopback sessions are what was asked for.
	if newRemoteFilter(config.RTC{Loopback: true}).refuses(netip.MustParseAddr("127.0.0.1")) {
		t.Error("loopback refused with --ice-loopback")
	}
	f := newRemoteFilter(config.RTC{RemoteAllow: []netip.Prefix{netip.MustParsePrefix("169.254.7.0/24")}})
	if f.refuses(netip.MustParseAddr("169.254.7.9")) || !f.refuses(netip.MustParseAddr("169.254.169.254")) {
		t.Error("--ice-remote-allow")
	}
	// A bridge network (as Docker makes on docker0) is refused.
	br := remoteFilter{refused: []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16")}}
	if !br.refuses(netip.MustParseAddr("172.17.0.2")) || br.refuses(netip.MustParseAddr("172.18.0.2")) {
		t.Error("bridge network")
	}
}

func TestRemoteFilterSDPAndTrickle(t *testing.T) {
	f := newRemoteFilter(config.RTC{})
	offer := "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
		"a=candidate:1 1 udp 2130706431 10.213.7.1 40000 typ host\r\n" +
		"a=candidate:2 1 udp 2130706431 127.0.0.1 40001 typ host\r\n" +
		"a=candidate:3 1 udp 1694498815 169.254.169.254 80 typ srflx raddr 0.0.0.0 rport 0\r\n" +
		"a=candidate:4 1 udp 2130706431 abc.local 40002 typ host\r\n" +
		"a=end-of-candidates\r\n"
	got, refused := f.filterSDP(offer)
	if strings.Join(refused, ",") != "127.0.0.1,169.254.169.254" {
		t.Fatalf("refused %v", refused)
	}
	if strings.Contains(got, "127.0.0.1") || strings.Contains(got, "169.254.169.254") ||
		!strings.Contains(got, "10.213.7.1 40000") || !strings.Contains(got, "abc.local") ||
		!strings.HasSuffix(got, "a=end-of-candidates\r\n") {
		t.Fatalf("filtered offer:\n%s", got)
	}
	if a := f.refusedAddress("candidate:5 1 udp 2130706431 ::1 9 typ host"); a != "::1" {
		t.Fatalf("trickled ::1: %q", a)
	}
	for _, line := range []string{"", "candidate:", "candidate:garbage", "candidate:6 1 udp 1 192.0.2.1 9 typ host"} {
		if a := f.refusedAddress(line); a != "" {
			t.Errorf("%q refused as %q", line, a)
		}
	}
}
