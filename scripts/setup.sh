#!/usr/bin/env bash
# Puts this machine in the state every build and test expects (see
# shared/TESTING.md): Debian packages installed, dockerd answering on
# /var/run/docker.sock, the local test image porthole/target:dev built.
#
# Idempotent and quick when everything is already there (no apt, no network).
# Runs as root on a fresh Debian bookworm machine (CI) or a developer's; when not
# root and something is missing it says exactly what and exits non-zero.
#
# Env: PORTHOLE_DOCKERD_LOG (default /var/log/porthole-dockerd.log),
#      PORTHOLE_DOCKERD_WAIT (seconds to wait for dockerd, default 60).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# What the build and the tests stand on, by Debian package name.
PACKAGES=(
  # Docker Engine (daemon + CLI), tini for --init, xz for docker import/load
  docker.io containerd runc tini xz-utils ca-certificates
  # the test container's rootfs
  busybox-static
  # browser tests (headless Chromium driven by Playwright), fonts for screenshots
  chromium fonts-dejavu-core fonts-liberation
  # network namespaces for WebRTC tests (ip, unshare), docker top needs ps
  iproute2 util-linux procps iptables
  # TURN relay for the relay tests (started by the tests, never as a service)
  coturn
  # the shared store of several server nodes (started by the tests, never as a service)
  redis-server
  # X11 screen path: server, content, input checks, build deps (libyuv: -lyuv; libxfixes: the clipboard)
  xvfb xauth x11-apps x11-utils x11-xserver-utils xdotool libx11-dev libxext-dev libxtst-dev libxdamage-dev libxfixes-dev libvpx-dev libyuv-dev
  # the clipboard tests' other X client: Tk (python3's tkinter)
  python3-tk
  # make bench's screen reference: seed 000's GStreamer pipeline (ximagesrc, vp8enc)
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  # cgo / builds, terminals in tests
  gcc libc6-dev make pkg-config git tmux python3-venv
)

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }
t0=$EPOCHREALTIME
elapsed() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
# A policy-rc.d we put in place is removed however the script ends.
own_policy=""
trap '[[ -z $own_policy ]] || rm -f "$own_policy"' EXIT

# ---------------------------------------------------------------- packages
missing_packages() {
  # dpkg-query prints one line per known package; anything not "install ok
  # installed" (or unknown to dpkg: no line at all) is missing.
  local have
  have=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null \
           | awk '$NF=="installed" && $(NF-1)=="ok" {print $1}' || true)
  local p
  for p in "${PACKAGES[@]}"; do
    grep -qxF "$p" <<<"$have" || printf '%s\n' "$p"
  done
}

install_packages() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) && return 0
  if ! is_root; then
    die "missing Debian packages: ${missing[*]}
       run as root: sudo bash scripts/setup.sh   (or: apt-get install ${missing[*]})"
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start services (docker.io would start a dockerd
  # with a bridge and iptables rules): policy-rc.d says no while we install.
  local policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    own_policy=$policy
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
  fi
  local aptlog=/var/log/porthole-apt.log t_apt=$EPOCHREALTIME
  export NEEDRESTART_SUSPEND=1  # needrestart, if present, has nothing to say here
  apt-get update -qq >"$aptlog" 2>&1 || { tail -n 30 "$aptlog" >&2; die "apt-get update failed (log: $aptlog)"; }
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1 \
    || { tail -n 40 "$aptlog" >&2; die "apt-get install failed (log: $aptlog)"; }
  log "installed in $(awk -v a="$t_apt" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }') (log: $aptlog)"
  if [[ -n $own_policy ]]; then rm -f "$own_policy"; own_policy=""; fi
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
}

# ---------------------------------------------------------------- dockerd
docker_ok() { timeout 10 docker info >/dev/null 2>&1; }

start_dockerd() {
  docker_ok && return 0
  if ! is_root; then
    die "Docker Engine is not answering on /var/run/docker.sock and starting it needs root:
       sudo bash scripts/setup.sh"
  fi
  local logf=${PORTHOLE_DOCKERD_LOG:-/var/log/porthole-dockerd.log}
  local wait_s=${PORTHOLE_DOCKERD_WAIT:-60}
  local started=""
  if pgrep -x dockerd >/dev/null; then
    log "dockerd is running (pid $(pgrep -x dockerd | tr '\n' ' ')) but not answering; waiting for it"
  else
    # A dockerd that died uncleanly leaves its pid file and socket behind.
    rm -f /var/run/docker.pid /var/run/docker.sock
    log "starting dockerd (log: $logf)"
    mkdir -p "$(dirname "$logf")"
    # No bridge, no iptables: test containers run with --network none, and
    # this machine's network is not ours to change.
    local dockerd
    dockerd=$(PATH=$PATH:/usr/sbin:/sbin command -v dockerd) || die "dockerd not found (package docker.io)"
    nohup setsid "$dockerd" --bridge=none --iptables=false --ip6tables=false \
      </dev/null >>"$logf" 2>&1 &
    started=$!
  fi
  local deadline=$((SECONDS + wait_s))
  until docker_ok; do
    if ((SECONDS >= deadline)); then
      tail -n 30 "$logf" >&2 || true
      die "dockerd did not answer 'docker info' within ${wait_s}s (log above, full log in $logf)"
    fi
    if [[ -n $started ]] && ! kill -0 "$started" 2>/dev/null; then
      tail -n 30 "$logf" >&2 || true
      die "dockerd exited while starting (log above, full log in $logf)"
    fi
    sleep 0.5
  done
  log "dockerd is up ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
}

install_packages
start_dockerd
bash "$root/scripts/build-target-image.sh"
log "ok in $(elapsed)"
