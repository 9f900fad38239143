// Package config turns porthole-core's command line and environment into one
// validated Config. Nothing else in the binary reads flags or the environment.
package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults.
const (
	// DefaultMaxSessions bounds concurrent peer connections: each one holds
	// UDP sockets, DTLS/SCTP state and goroutines, so a runaway agent must
	// not be able to exhaust the device.
	DefaultMaxSessions = 256
	// DefaultICERestartWait is --ice-restart-wait's default (a 40 s outage
	// is survived: pion declares ICE failed 30 s after the last packet).
	DefaultICERestartWait = 60 * time.Second

	// maxSessionsLimit is a sanity cap for --max-sessions.
	maxSessionsLimit = 65536
)

// FDListenSuffix names the descriptor handoff socket next to the gRPC one
// when --fd-listen is not given: same directory, so the same directory
// permissions protect both.
const FDListenSuffix = ".fd"

// Environment variables that carry TURN credentials. They are read from the
// environment rather than flags so they never appear in `ps` output.
const (
	EnvTURNUsername   = "PORTHOLE_TURN_USERNAME"
	EnvTURNCredential = "PORTHOLE_TURN_CREDENTIAL"
)

// MDNSMode is how ICE treats multicast DNS (.local) candidates.
type MDNSMode string

// mDNS modes accepted by --mdns.
const (
	// MDNSOff discards remote .local candidates and never gathers them.
	MDNSOff MDNSMode = "off"
	// MDNSQuery resolves remote .local candidates (browsers that hide local
	// IPs send them); local candidates still use plain IPs.
	MDNSQuery MDNSMode = "query"
)

// Config is everything porthole-core is started with.
type Config struct {
	// Listen is the unix socket path of the gRPC server.
	Listen string
	// FDListen is the SOCK_SEQPACKET unix socket on which the agent hands
	// terminal descriptors over (SCM_RIGHTS); default Listen + ".fd".
	FDListen string
	// LogLevel is the minimum level written to stderr.
	LogLevel slog.Level
	// RTC configures the WebRTC engine.
	RTC RTC
}

// RTC configures peer connections: which local addresses ICE may use, which
// ports, which STUN/TURN servers, and how many sessions may exist.
type RTC struct {
	// Interfaces is an allow-list of network interface names; empty = all.
	Interfaces []string
	// IPRanges is an allow-list of local IP ranges; empty = all.
	IPRanges []netip.Prefix
	// Loopback includes loopback candidates (pion drops them otherwise);
	// it also lets remote loopback candidates through (both ends on this
	// machine is then what was asked for).
	Loopback bool
	// RemoteAllow are remote candidate addresses let through although the
	// default refuses them (loopback, link-local with cloud metadata,
	// unspecified, multicast, the networks of container and VM bridges).
	RemoteAllow []netip.Prefix
	// UDPPortMin and UDPPortMax bound ephemeral ICE ports; 0 = any.
	UDPPortMin, UDPPortMax uint16
	// UDPPort, when not 0, multiplexes every session on this one UDP port.
	UDPPort uint16
	// ICEServers are STUN/TURN servers used by every session.
	ICEServers []ICEServer
	// MDNS is the multicast DNS mode.
	MDNS MDNSMode
	// MaxSessions bounds concurrent sessions.
	MaxSessions int
	// RestartWait is how long a session whose ICE failed after it had been
	// connected waits for an ICE restart before it closes; 0 = the default
	// (rtc.ICERestartWait).
	RestartWait time.Duration
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// LogValue keeps TURN credentials out of logs.
func (s ICEServer) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("urls", s.URLs),
		slog.Bool("has_credential", s.Username != "" || s.Credential != ""),
	)
}

// LogValue summarises the RTC config without secrets.
func (r RTC) LogValue() slog.Value {
	ranges := make([]string, len(r.IPRanges))
	for i, p := range r.IPRanges {
		ranges[i] = p.String()
	}
	servers := make([]any, len(r.ICEServers))
	for i, s := range r.ICEServers {
		servers[i] = s.LogValue()
	}
	return slog.GroupValue(
		slog.Any("interfaces", r.Interfaces),
		slog.Any("ip_ranges", ranges),
		slog.Bool("loopback", r.Loopback),
		slog.String("udp_ports", fmt.Sprintf("%d-%d", r.UDPPortMin, r.UDPPortMax)),
		slog.Int("udp_port", int(r.UDPPort)),
		slog.Any("ice_servers", servers),
		slog.String("mdns", string(r.MDNS)),
		slog.Int("max_sessions", r.MaxSessions),
	)
}
