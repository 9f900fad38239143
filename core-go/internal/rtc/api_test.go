package rtc

import (
	"net"
	"net/netip"
	"testing"
)

func TestFilters(t *testing.T) {
	if interfaceFilter(nil) != nil || ipFilter(nil) != nil {
		t.Fatal("empty allow-lists must not filter")
	}
	f := interfaceFilter([]string{"lo", "veth0"})
	if !f("lo") || !f("veth0") || f("eth0") {
		t.Fatal("interface filter")
	}
	ipf := ipFilter([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8")})
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "127.9.9.9": true, "10.0.0.1": false, "fd00::1": true, "::1": false,
		"::ffff:127.0.0.1": true,
	} {
		if got := ipf(net.ParseIP(ip)); got != want {
			t.Errorf("%s: %v", ip, got)
		}
	}
}
