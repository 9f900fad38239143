#!/usr/bin/env bash
# in-netns.sh [--fresh] CMD [ARGS...]: runs CMD in a fresh, private network namespace that
# dies with it (unshare --net; no name in /run/netns, nothing to clean up).
#
# Inside:
#   lo          up (127.0.0.1, ::1)
#   pth0        10.213.7.1/24, one end of a veth pair; the default route goes
#               through it (via 10.213.7.254, which nobody answers)
#   pth0p       the other end, up, no address (it only gives pth0 a carrier)
# WebRTC stacks gather a host candidate on 10.213.7.1 (Chromium gathers none
# without a default route; aiortc never gathers loopback), and peers in this
# namespace reach each other there. Nothing leaves the machine: the namespace
# has no link outside itself. The Docker unix socket works as before (dockerd
# runs in the root namespace; test containers use --network none).
# IPv6 is off on the veth pair (no link-local candidates); lo keeps ::1.
#
# Exported to CMD:
#   PORTHOLE_TEST_IFACE=pth0   PORTHOLE_TEST_IP=10.213.7.1
#   PORTHOLE_TEST_CIDR=10.213.7.1/24   PORTHOLE_TEST_NETNS=1
# Use them for ICE filters (pion SettingEngine interface/IP filter, aiortc and
# Chromium pick the address up by themselves).
#
# Already inside (PORTHOLE_TEST_IFACE carries PORTHOLE_TEST_IP here)? CMD runs
# as is, unless the first argument is --fresh: then CMD gets a namespace of its
# own all the same (each pytest worker of scripts/test-py.sh does). Needs root
# (or unprivileged user namespaces: then it maps you to root inside a new user
# namespace as well).
set -euo pipefail

IFACE=pth0
PEER=pth0p
IP=10.213.7.1
PREFIX=24
GATEWAY=10.213.7.254

die() { printf 'in-netns: ERROR: %s\n' "$*" >&2; exit 1; }
(($# > 0)) || die "usage: $0 [--fresh] CMD [ARGS...]"

has_test_ip() {
  [[ -n ${PORTHOLE_TEST_IFACE:-} && -n ${PORTHOLE_TEST_IP:-} ]] &&
    ip -4 -o addr show dev "$PORTHOLE_TEST_IFACE" 2>/dev/null | grep -qF " $PORTHOLE_TEST_IP/"
}

if [[ ${_PORTHOLE_IN_NETNS_SETUP:-} != 1 ]]; then
  fresh=0
  if [[ $1 == --fresh ]]; then
    fresh=1
    shift
    (($# > 0)) || die "usage: $0 [--fresh] CMD [ARGS...]"
  fi
  if ((!fresh)) && has_test_ip; then
    exec "$@"
  fi
  command -v unshare >/dev/null || die "unshare not found (package util-linux)"
  command -v ip >/dev/null || die "ip not found (package iproute2)"
  userns=()
  [[ $(id -u) -eq 0 ]] || userns=(--user --map-root-user)
  export _PORTHOLE_IN_NETNS_SETUP=1
  # No --fork: unshare execs this script, which execs CMD, so CMD holds the
  # namespace and gets signals directly; the namespace goes when CMD (and
  # anything it left running) exits.
  exec unshare "${userns[@]}" --net -- bash "${BASH_SOURCE[0]}" "$@"
fi

# ---- inside the new namespace
unset _PORTHOLE_IN_NETNS_SETUP
ip link set lo up
ip link add "$IFACE" type veth peer name "$PEER" || die "cannot create a veth pair"
for dev in "$IFACE" "$PEER"; do
  echo 1 >"/proc/sys/net/ipv6/conf/$dev/disable_ipv6" 2>/dev/null || true
done
ip addr add "$IP/$PREFIX" dev "$IFACE"
ip link set "$PEER" up
ip link set "$IFACE" up
ip route add default via "$GATEWAY" dev "$IFACE"

export PORTHOLE_TEST_IFACE=$IFACE
export PORTHOLE_TEST_IP=$IP
export PORTHOLE_TEST_CIDR=$IP/$PREFIX
export PORTHOLE_TEST_NETNS=1
exec "$@"
