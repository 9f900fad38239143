#!/usr/bin/env bash
# scripts/deploy-trial/run.sh: tries docs/deploy.md on this machine, its ```sh blocks run
# verbatim where a test machine allows, on two "machines": the VM and the device, each a
# mount namespace with its own /etc, /opt, /usr/local/bin, /root, /var/lib and /run/porthole
# (copies under $PORTHOLE_TRIAL_DIR), and in phase 2 a network namespace of its own, routed
# through a private one (scripts/in-netns.sh) where headless Chromium does step 8.
#
# What differs from the doc is printed as a diff of each block as run: no apt-get (the
# packages of `make setup` are there), Go from /usr/local/go, this checkout as REPO, TLS
# option B, systemd replaced by what the units do (user, capabilities, directories, umask;
# not their sandboxing), `cp` for `scp`, the hash carried instead of pasted, a local image
# for the container. Phase 1 (pip, Go modules) needs the network. Root only; nothing outside
# $PORTHOLE_TRIAL_DIR changes (the container and namespaces are removed at the end).
#
#   bash scripts/deploy-trial/run.sh            # everything (a few minutes)
#   SKIP_INSTALL=1 bash scripts/deploy-trial/run.sh   # again, keeping phase 1's installs
set -euo pipefail
K=$(cd "$(dirname "$0")" && pwd)
export REPO=$(cd "$K/../.." && pwd)
export T=${PORTHOLE_TRIAL_DIR:-/tmp/porthole-deploy-trial}
export B=$T/blocks
if [[ ${SKIP_INSTALL:-} == 1 ]]; then  # keep phase 1's installs; everything after it again
  rm -rf "$T/shared" "$B" "$T"/*.log "$T"/vm/etc/porthole/* "$T"/dev/etc/porthole/* "$T"/vm/varlib/porthole \
    "$T"/dev/varlib/porthole-agent "$T"/vm/root/operator.password
  mkdir -p "$T/shared"; install -d -m 0700 "$T/dev/etc/porthole"
else
rm -rf "$T"
mkdir -p "$T/shared"
for m in vm dev; do
  mkdir -p "$T/$m"/{opt,bin,root,varlib,runporthole}
  cp -a /etc "$T/$m/etc"
  echo "10.213.60.2 porthole.example.com" >> "$T/$m/etc/hosts"
done
fi

# The doc's ```sh blocks, numbered; each must still start as this script expects.
mkdir -p "$B"
python3 - "$REPO/docs/deploy.md" "$B" <<'PY'
import pathlib, re, sys
blocks = re.findall(r"^```sh\n(.*?)^```", pathlib.Path(sys.argv[1]).read_text(), re.S | re.M)
for i, b in enumerate(blocks):
    (pathlib.Path(sys.argv[2]) / f"{i:02d}.sh").write_text(b)
PY
expect() { head -1 "$B/$1.sh" | grep -qF -- "$2" || { echo "docs/deploy.md changed: block $1 no longer starts with $2" >&2; exit 1; }; }
expect 00 "apt-get update"; expect 01 "cd /etc/porthole"; expect 03 "install -d -m 0750 -o root -g porthole /etc/porthole/tls"
expect 04 "cat > /etc/porthole/server.toml"; expect 05 "apt-get update"; expect 06 "(umask 077 && openssl rand -hex 32"
expect 07 "DEVICE_HASH="; expect 08 "scp root@porthole.example.com:"; expect 09 "cat > /etc/porthole/agent.toml"
expect 10 "docker run -d --name demo"

# edit FILE SED...: a changed copy of a block, the change shown in the log.
edit() {
  local in=$1 out=$T/shared/$(basename "$1"); shift
  sed "$@" "$in" > "$out"
  echo "---- $(basename "$in"), as run (diff against the doc):" >&2
  diff "$in" "$out" >&2 || true
  echo "$out"
}
on() {  # on MACHINE SCRIPT (host network namespace)
  unshare --mount --propagation private bash "$K/machine.sh" "$1" "$2"
}

# ---- phase 1 (needs the network: pip, Go modules): the installs of steps 1 and 5
if [[ ${SKIP_INSTALL:-} != 1 ]]; then
s=$(edit "$B/00.sh" -e '/^apt-get /d')
on vm "$s" > "$T/vm-install.log" 2>&1 || { tail -30 "$T/vm-install.log"; exit 1; }
echo "step 1 (vm install): ok"
s=$(edit "$B/05.sh" -e '/^apt-get /d' -e '/^  gcc libc6-dev/d' -e '/^systemctl enable --now docker/d' -e '/^curl -fsSL https:\/\/go.dev/d')
on dev "$s" > "$T/dev-install.log" 2>&1 || { tail -30 "$T/dev-install.log"; exit 1; }
echo "step 5 (device install): ok"
fi

# ---- phase 2: in a private network namespace (the "internet"), vm and dev in their own
bash "$REPO/scripts/in-netns.sh" bash "$K/phase2.sh"
