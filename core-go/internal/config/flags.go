package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"
)

const usageHeader = `porthole-core: the WebRTC sidecar of the porthole agent.

It serves gRPC (porthole.rpc.v1.Sidecar, health, reflection) on a unix
socket, owns WebRTC peer connections (ICE, DTLS, SCTP data channels) and
exits when its standard input reaches EOF or on SIGTERM/SIGINT.

TURN credentials for --ice-server turn:/turns: URLs are read from the
environment: ` + EnvTURNUsername + ` and ` + EnvTURNCredential + `.
No STUN or TURN server is used unless given.

Usage: porthole-core --listen PATH [flags]

Flags:
`

// Parse builds a validated Config from command line arguments (without the
// program name) and an environment lookup. Usage and errors go to out. It
// returns flag.ErrHelp when -h/--help was asked for.
func Parse(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("porthole-core", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageHeader)
		fs.PrintDefaults()
	}

	var (
		cfg        Config
		logLevel   = fs.String("log-level", "info", "minimum log level: debug, info, warn or error (JSON logs on stderr)")
		ifaces     = fs.String("ice-interfaces", "", "comma-separated allow-list of network interface names ICE may use (default: all)")
		ips        = fs.String("ice-ips", "", "comma-separated allow-list of local IP ranges (CIDR) ICE may use (default: all)")
		remote     = fs.String("ice-remote-allow", "", "comma-separated IP ranges (CIDR) of remote candidates to check although refused by default (loopback unless --ice-loopback, link-local, unspecified, multicast, container and VM bridge networks)")
		portMin    = fs.Uint("ice-udp-port-min", 0, "lowest ephemeral UDP port for ICE (with --ice-udp-port-max)")
		portMax    = fs.Uint("ice-udp-port-max", 0, "highest ephemeral UDP port for ICE (with --ice-udp-port-min)")
		udpPort    = fs.Uint("ice-udp-port", 0, "one UDP port shared by all sessions (UDP mux); excludes the port range")
		mdns       = fs.String("mdns", string(MDNSOff), "multicast DNS candidates: off or query (resolve the peer's .local candidates)")
		iceServers []string
	)
	fs.StringVar(&cfg.Listen, "listen", "", "unix socket path for the gRPC server (required; a stale socket is replaced; mode 0600)")
	fs.StringVar(&cfg.FDListen, "fd-listen", "", "unix socket path (SOCK_SEQPACKET) for terminal descriptor handoff from the agent (default: the --listen path + \".fd\"; mode 0600; only porthole-core's parent process, running as its uid, may use it)")
	fs.BoolVar(&cfg.RTC.Loopback, "ice-loopback", false, "gather loopback candidates (127.0.0.1, ::1)")
	fs.IntVar(&cfg.RTC.MaxSessions, "max-sessions", DefaultMaxSessions, "maximum number of concurrent sessions")
	fs.DurationVar(&cfg.RTC.RestartWait, "ice-restart-wait", DefaultICERestartWait, "how long a session whose ICE failed after it had been connected waits for an ICE restart before it closes (1s..1h)")
	fs.Func("ice-server", "STUN/TURN server URL, e.g. stun:host:3478 or turn:host:3478?transport=udp (repeatable)", func(s string) error {
		iceServers = append(iceServers, s)
		return nil
	})

	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	var errs []error
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if cfg.RTC.RestartWait < time.Second || cfg.RTC.RestartWait > time.Hour {
		errs = append(errs, fmt.Errorf("--ice-restart-wait: %v is not within 1s..1h", cfg.RTC.RestartWait))
	}
	cfg.RTC.Interfaces = splitList(*ifaces)
	for _, s := range splitList(*ips) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--ice-ips: %w", err))
			continue
		}
		cfg.RTC.IPRanges = append(cfg.RTC.IPRanges, p.Masked())
	}
	for _, s := range splitList(*remote) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--ice-remote-allow: %w", err))
			continue
		}
		cfg.RTC.RemoteAllow = append(cfg.RTC.RemoteAllow, p.Masked())
	}
	var err error
	if cfg.RTC.UDPPortMin, err = port("--ice-udp-port-min", *portMin); err != nil {
		errs = append(errs, err)
	}
	if cfg.RTC.UDPPortMax, err = port("--ice-udp-port-max", *portMax); err != nil {
		errs = append(errs, err)
	}
	if cfg.RTC.UDPPort, err = port("--ice-udp-port", *udpPort); err != nil {
		errs = append(errs, err)
	}
	cfg.RTC.MDNS = MDNSMode(*mdns)
	for _, u := range iceServers {
		s, err := iceServer(u, getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.RTC.ICEServers = append(cfg.RTC.ICEServers, s)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if cfg.FDListen == "" && cfg.Listen != "" {
		cfg.FDListen = cfg.Listen + FDListenSuffix
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the relations between settings.
func (c Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("--listen is required"))
	}
	if c.FDListen == c.Listen && c.Listen != "" {
		errs = append(errs, errors.New("--fd-listen must differ from --listen"))
	}
	r := c.RTC
	if (r.UDPPortMin == 0) != (r.UDPPortMax == 0) {
		errs = append(errs, errors.New("--ice-udp-port-min and --ice-udp-port-max go together"))
	}
	if r.UDPPortMin > r.UDPPortMax {
		errs = append(errs, fmt.Errorf("--ice-udp-port-min %d is above --ice-udp-port-max %d", r.UDPPortMin, r.UDPPortMax))
	}
	if r.UDPPort != 0 && r.UDPPortMin != 0 {
		errs = append(errs, errors.New("--ice-udp-port excludes --ice-udp-port-min/--ice-udp-port-max"))
	}
	if r.MDNS != MDNSOff && r.MDNS != MDNSQuery {
		errs = append(errs, fmt.Errorf("--mdns must be %q or %q, not %q", MDNSOff, MDNSQuery, r.MDNS))
	}
	if r.MaxSessions < 1 || r.MaxSessions > maxSessionsLimit {
		errs = append(errs, fmt.Errorf("--max-sessions must be 1..%d", maxSessionsLimit))
	}
	for _, s := range r.ICEServers {
		for _, u := range s.URLs {
			if err := ValidateICEURL(u, s.Username, s.Credential); err != nil {
				errs = append(errs, fmt.Errorf("--ice-server: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// ValidateICEURL checks a STUN/TURN URL; TURN needs a username and credential.
func ValidateICEURL(raw, username, credential string) error {
	if err := checkBracketedHost(raw); err != nil {
		return fmt.Errorf("bad ICE server URL %q: %w", raw, err)
	}
	u, err := stun.ParseURI(raw)
	if err != nil {
		return fmt.Errorf("bad ICE server URL %q: %w", raw, err)
	}
	if (u.Scheme == stun.SchemeTypeTURN || u.Scheme == stun.SchemeTypeTURNS) && (username == "" || credential == "") {
		return fmt.Errorf("TURN server %q needs a username and credential (%s, %s)", raw, EnvTURNUsername, EnvTURNCredential)
	}
	return nil
}

func iceServer(raw string, getenv func(string) string) (ICEServer, error) {
	s := ICEServer{URLs: []string{raw}}
	if strings.HasPrefix(raw, "turn:") || strings.HasPrefix(raw, "turns:") {
		s.Username = getenv(EnvTURNUsername)
		s.Credential = getenv(EnvTURNCredential)
	}
	return s, nil
}

func port(name string, v uint) (uint16, error) {
	if v > 65535 {
		return 0, fmt.Errorf("%s: %s is not a port", name, strconv.FormatUint(uint64(v), 10))
	}
	return uint16(v), nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
