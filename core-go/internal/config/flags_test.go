package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]string{"--listen", "/tmp/x.sock"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "/tmp/x.sock" || cfg.LogLevel != slog.LevelInfo {
		t.Fatalf("cfg = %+v", cfg)
	}
	r := cfg.RTC
	if r.MaxSessions != DefaultMaxSessions || r.MDNS != MDNSOff || r.Loopback || len(r.ICEServers) != 0 {
		t.Fatalf("rtc = %+v", r)
	}
}

func TestParseAll(t *testing.T) {
	cfg, err := Parse([]string{
		"--listen=/run/p.sock", "--log-level=debug",
		"--ice-interfaces", "lo, veth0", "--ice-ips", "127.0.0.0/8,10.1.2.3/16",
		"--ice-loopback", "--ice-udp-port-min=40000", "--ice-udp-port-max=40100",
		"--ice-server", "stun:127.0.0.1:3478", "--ice-server", "turn:127.0.0.1:3478?transport=udp",
		"--mdns=query", "--max-sessions=3", "--ice-remote-allow", "169.254.7.9/24",
	}, env(map[string]string{EnvTURNUsername: "u", EnvTURNCredential: "secret"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.RTC
	if cfg.LogLevel != slog.LevelDebug || !r.Loopback || r.MDNS != MDNSQuery || r.MaxSessions != 3 {
		t.Fatalf("cfg = %+v", cfg)
	}
	if len(r.RemoteAllow) != 1 || r.RemoteAllow[0] != netip.MustParsePrefix("169.254.7.0/24") {
		t.Fatalf("remote allow = %v", r.RemoteAllow)
	}
	if strings.Join(r.Interfaces, "|") != "lo|veth0" {
		t.Fatalf("interfaces = %q", r.Interfaces)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")}
	if len(r.IPRanges) != 2 || r.IPRanges[0] != want[0] || r.IPRanges[1] != want[1] {
		t.Fatalf("ranges = %v", r.IPRanges)
	}
	if r.UDPPortMin != 40000 || r.UDPPortMax != 40100 {
		t.Fatalf("ports = %d-%d", r.UDPPortMin, r.UDPPortMax)
	}
	if len(r.ICEServers) != 2 || r.ICEServers[0].Username != "" || r.ICEServers[1].Credential != "secret" {
		t.Fatalf("servers = %+v", r.ICEServers)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string][]string{
		"no listen":        {},
		"bad level":        {"--listen=x", "--log-level=loud"},
		"bad cidr":         {"--listen=x", "--ice-ips=10.0.0.0/99"},
		"bad remote cidr":  {"--listen=x", "--ice-remote-allow=127.0.0.1"},
		"half range":       {"--listen=x", "--ice-udp-port-min=5000"},
		"inverted range":   {"--listen=x", "--ice-udp-port-min=5000", "--ice-udp-port-max=4000"},
		"port and range":   {"--listen=x", "--ice-udp-port=5000", "--ice-udp-port-min=5000", "--ice-udp-port-max=6000"},
		"port too big":     {"--listen=x", "--ice-udp-port=70000"},
		"mdns":             {"--listen=x", "--mdns=gather"},
		"sessions":         {"--listen=x", "--max-sessions=0"},
		"bad url":          {"--listen=x", "--ice-server=http://example"},
		"turn no secret":   {"--listen=x", "--ice-server=turn:127.0.0.1:3478"},
		"extra positional": {"--listen=x", "extra"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(args, env(nil), &bytes.Buffer{}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"--listen", "-ice-udp-port-min", "-mdns", EnvTURNCredential} {
		if !strings.Contains(out.String(), strings.TrimPrefix(want, "--")) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestLogValueHidesCredentials(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	r := RTC{ICEServers: []ICEServer{{URLs: []string{"turn:h:1"}, Username: "alice", Credential: "hunter2"}}}
	log.Info("cfg", "rtc", r)
	if strings.Contains(buf.String(), "hunter2") || strings.Contains(buf.String(), "alice") {
		t.Fatalf("credential logged: %s", buf.String())
	}
}

func TestICERestartWait(t *testing.T) {
	cfg, err := Parse([]string{"--listen", "/tmp/x.sock"}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.RTC.RestartWait != DefaultICERestartWait {
		t.Fatalf("default: %v %v", cfg.RTC.RestartWait, err)
	}
	cfg, err = Parse([]string{"--listen", "/tmp/x.sock", "--ice-restart-wait", "5s"}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.RTC.RestartWait != 5*time.Second {
		t.Fatalf("5s: %v %v", cfg.RTC.RestartWait, err)
	}
	for _, bad := range []string{"0s", "500ms", "2h"} {
		if _, err := Parse([]string{"--listen", "/tmp/x.sock", "--ice-restart-wait", bad}, func(string) string { return "" }, io.Discard); err == nil {
			t.Fatalf("--ice-restart-wait %s accepted", bad)
		}
	}
}
