package rtc

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/pion/ice/v4"

	"porthole/core-go/internal/config"
)

// A peer chooses the addresses porthole-core sends ICE checks to: without a
// filter, a client could make the device send STUN to its own loopback
// services, to the cloud metadata address or into its Docker networks.
// Remote candidates on these ranges are dropped (logged) unless
// --ice-remote-allow names them:
var refusedRemote = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, 169.254.169.254 cloud metadata
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// loopbackRemote is refused too, unless --ice-loopback (both ends on this
// machine is then what was asked for).
var loopbackRemote = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// remoteFilter says which remote candidates a session checks.
type remoteFilter struct {
	refused []netip.Prefix
	allowed []netip.Prefix
}

// newRemoteFilter builds the filter for a session starting now: the
// networks of the container and VM bridges are read at this moment (Docker
// creates networks at any time), except those of interfaces the operator
// named in --ice-interfaces.
func newRemoteFilter(cfg config.RTC) remoteFilter {
	f := remoteFilter{refused: slices.Clone(refusedRemote), allowed: cfg.RemoteAllow}
	if !cfg.Loopback {
		f.refused = append(f.refused, loopbackRemote...)
	}
	f.refused = append(f.refused, bridgeNetworks(cfg.Interfaces)...)
	return f
}

// bridgeNetworks are the networks on this machine's container and VM
// bridges (docker0, br-*, veth*, ...) that named does not list.
func bridgeNetworks(named []string) []netip.Prefix {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, ifc := range ifaces {
		if slices.Contains(named, ifc.Name) ||
			!slices.ContainsFunc(excludedInterfacePrefixes, func(p string) bool { return strings.HasPrefix(ifc.Name, p) }) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if p, ok := netipPrefix(ipn); ok {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func netipPrefix(ipn *net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(ipn.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := ipn.Mask.Size()
	if addr.Is4In6() {
		addr = addr.Unmap()
		if ones >= 96 {
			ones -= 96
		}
	}
	return netip.PrefixFrom(addr, ones).Masked(), true
}

// refuses says whether addr is one porthole-core must not send checks to.
func (f remoteFilter) refuses(addr netip.Addr) bool {
	addr = addr.Unmap()
	in := func(p netip.Prefix) bool { return p.Contains(addr) }
	return slices.ContainsFunc(f.refused, in) && !slices.ContainsFunc(f.allowed, in)
}

// refusedAddress is the address of a candidate line ("candidate:..." or
// "a=candidate:...") when the filter refuses it, else "". Lines that do
// not parse, and mDNS names, are left to pion.
func (f remoteFilter) refusedAddress(line string) string {
	v := strings.TrimPrefix(strings.TrimPrefix(line, "a="), "candidate:")
	if v == "" {
		return ""
	}
	c, err := ice.UnmarshalCandidate(v)
	if err != nil {
		return ""
	}
	addr, err := netip.ParseAddr(c.Address())
	if err != nil || !f.refuses(addr) {
		return ""
	}
	return addr.String()
}

// filterSDP removes the refused a=candidate lines of an offer; it returns
// the offer and the refused addresses.
func (f remoteFilter) filterSDP(sdp string) (string, []string) {
	var refused []string
	lines := strings.SplitAfter(sdp, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if strings.HasPrefix(l, "a=candidate:") {
			if a := f.refusedAddress(strings.TrimRight(l, "\r\n")); a != "" {
				refused = append(refused, a)
				continue
			}
		}
		kept = append(kept, l)
	}
	if refused == nil {
		return sdp, nil
	}
	return strings.Join(kept, ""), refused
}
