package rtc

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
)

// newAPI builds the pion API for every session from the config: which
// interfaces and addresses ICE may use, ports, mDNS, and the SCTP message
// size. DTLS fingerprint verification stays on (pion's default). The
// returned closer releases the shared UDP mux, if any.
// A terminal session carries data channels only, so its API has no codec
// and no interceptor: pion's defaults (every codec, NACK, RTCP reports,
// stats, TWCC) would give each peer connection a copy of the codec table
// and interceptor goroutines with their tickers (the NACK generator wakes
// ten times a second) that never see a packet. Screen sessions build their
// own API with media (screen_api.go).
// tune, when not nil, adjusts the settings last (tests shorten timeouts).
// The settings are returned too: screen sessions build their own API on
// them (screen_api.go).
func newAPI(cfg config.RTC, log *slog.Logger, turn *turnErrors, tune func(*webrtc.SettingEngine)) (*webrtc.API, *webrtc.SettingEngine, io.Closer, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLogs{log: log, turn: turn}

	ifaceFilter := interfaceFilter(cfg.Interfaces)
	ipFilter := ipFilter(cfg.IPRanges)
	if ifaceFilter != nil {
		se.SetInterfaceFilter(ifaceFilter)
	}
	if ipFilter != nil {
		se.SetIPFilter(ipFilter)
	}
	se.SetIncludeLoopbackCandidate(cfg.Loopback)

	if cfg.UDPPortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, nil, nil, fmt.Errorf("udp port range: %w", err)
		}
	}
	var closer io.Closer = nopCloser{}
	if cfg.UDPPort != 0 {
		opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithLogger(pionLogs{log: log}.NewLogger("udpmux"))}
		if ifaceFilter != nil {
			opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(ifaceFilter))
		}
		if ipFilter != nil {
			opts = append(opts, ice.UDPMuxFromPortWithIPFilter(ipFilter))
		}
		if cfg.Loopback {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback())
		}
		mux, err := ice.NewMultiUDPMuxFromPort(int(cfg.UDPPort), opts...)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("udp mux on port %d: %w", cfg.UDPPort, err)
		}
		se.SetICEUDPMux(mux)
		closer = mux
	}

	switch cfg.MDNS {
	case config.MDNSQuery:
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	default:
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	se.SetSCTPMaxMessageSize(SCTPMaxMessageSize)
	se.SetSCTPRTOMax(SCTPRTOMax) // sctp_rto.go
	if tune != nil {
		tune(&se)
	}

	api := webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(&webrtc.MediaEngine{}),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
	)
	return api, &se, closer, nil
}

// excludedInterfacePrefixes name container and VM bridges (docker0,
// br-<id>, veth<id>, libvirt, CNI). Their addresses are the device's
// internal networks: no peer reaches the device there, and a candidate on
// them would tell every user about them. Left out unless --ice-interfaces
// names them.
var excludedInterfacePrefixes = []string{"docker", "br-", "veth", "virbr", "cni", "flannel"}

// excludedRanges are link-local addresses (169.254/16: cloud metadata and
// zeroconf; fe80::/10), left out unless --ice-ips includes them.
var excludedRanges = []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10")}

func interfaceFilter(names []string) func(string) bool {
	if len(names) == 0 {
		return func(name string) bool {
			return !slices.ContainsFunc(excludedInterfacePrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
		}
	}
	return func(name string) bool { return slices.Contains(names, name) }
}

func ipFilter(ranges []netip.Prefix) func(net.IP) bool {
	if len(ranges) == 0 {
		return func(ip net.IP) bool {
			addr, ok := netip.AddrFromSlice(ip)
			return ok && !slices.ContainsFunc(excludedRanges, func(p netip.Prefix) bool { return p.Contains(addr.Unmap()) })
		}
	}
	return func(ip net.IP) bool {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return false
		}
		addr = addr.Unmap()
		for _, p := range ranges {
			if p.Contains(addr) {
				return true
			}
		}
		return false
	}
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// iceServers converts config servers for pion.
func iceServers(servers []config.ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(servers))
	for _, s := range servers {
		ws := webrtc.ICEServer{URLs: s.URLs}
		if s.Username != "" || s.Credential != "" {
			ws.Username = s.Username
			ws.Credential = s.Credential
		}
		out = append(out, ws)
	}
	return out
}

// hasTURN reports whether any server is a TURN relay (turn: or turns:).
func hasTURN(servers []config.ICEServer) bool {
	for _, s := range servers {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				return true
			}
		}
	}
	return false
}
