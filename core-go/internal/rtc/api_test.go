package rtc

import (
	"net"
	"net/netip"
	"testing"
)

func TestFilters(t *testing.T) {
	// Empty allow-lists: everything but container/VM bridges and link-local addresses.
	all := interfaceFilter(nil)
	for name, want := range map[string]bool{
		"eth0": true, "wlan0": true, "lo": true, "pth0": true,
		"docker0": false, "br-1a2b3c": false, "veth9f8e7d": false, "virbr0": false, "cni0": false,
	} {
		if all(name) != want {
			t.Errorf("default interface filter, %s: %v", name, !want)
		}
	}
	anyIP := ipFilter(nil)
	for ip, want := range map[string]bool{
		"10.0.0.1": true, "192.168.1.2": true, "2001:db8::1": true,
		"169.254.169.254": false, "169.254.1.1": false, "fe80::1": false, "::ffff:169.254.0.1": false,
	} {
		if anyIP(net.ParseIP(ip)) != want {
			t.Errorf("default IP filter, %s: %v", ip, !want)
		}
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
