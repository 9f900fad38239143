#!/usr/bin/env bash
# Phase 2 of run.sh, inside scripts/in-netns.sh: the network, then steps 2-4 and 6-8.
set -euo pipefail
K=$(cd "$(dirname "$0")" && pwd)
SUF=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
VM=phvm-$SUF DEV=phdev-$SUF
DEMO=ph-trial-demo-$SUF

edit() {
  local in=$1 out=$T/shared/$(basename "$1"); shift
  sed "$@" "$in" > "$out"
  echo "---- $(basename "$in"), as run (diff against the doc):" >&2
  diff "$in" "$out" >&2 || true
  echo "$out"
}
on() {  # on NETNS MACHINE SCRIPT
  ip netns exec "$1" unshare --mount --propagation private bash "$K/machine.sh" "$2" "$3"
}
cleanup() {
  set +e
  for f in "$T"/shared/*.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null; done
  sleep 2
  docker rm -f "$DEMO" >/dev/null 2>&1
  ip netns del "$VM" 2>/dev/null
  ip netns del "$DEV" 2>/dev/null
}
trap cleanup EXIT

# vm 10.213.60.2/30 and dev 10.213.60.6/30, routed through this namespace.
sysctl -qw net.ipv4.ip_forward=1
n=0
for ns in "$VM" "$DEV"; do
  ip netns add "$ns"
  ip link add "ph$n-$SUF" type veth peer name "ph${n}p-$SUF"
  ip link set "ph${n}p-$SUF" netns "$ns"
  ip addr add "10.213.60.$((n * 4 + 1))/30" dev "ph$n-$SUF"
  ip link set "ph$n-$SUF" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "10.213.60.$((n * 4 + 2))/30" dev "ph${n}p-$SUF"
  ip -n "$ns" link set "ph${n}p-$SUF" up
  ip -n "$ns" route add default via "10.213.60.$((n * 4 + 1))"
  n=$((n + 1))
done
echo "network: vm 10.213.60.2 ($VM), dev 10.213.60.6 ($DEV)"

# What systemd would do for porthole-server.service (no systemd here): StateDirectory,
# UMask, User, AmbientCapabilities, NoNewPrivileges, ExecStart.
cat > "$T/shared/start-server.sh" <<EOF
install -d -m 0750 -o porthole -g porthole /var/lib/porthole
(umask 0027; exec setpriv --reuid=porthole --regid=porthole --init-groups --inh-caps=+net_bind_service \
  --ambient-caps=+net_bind_service --no-new-privs /usr/local/bin/porthole server --config /etc/porthole/server.toml \
  >> $T/server.log 2>&1) &
echo \$! > $T/shared/server.pid
for i in \$(seq 100); do curl -s --cacert /etc/porthole/tls/ca.pem https://porthole.example.com/healthz && break; sleep 0.2; done
EOF
# porthole-agent.service: RuntimeDirectory, StateDirectory, UMask, Environment, ExecStart.
cat > "$T/shared/start-agent.sh" <<EOF
chmod 0700 /run/porthole
install -d -m 0700 /var/lib/porthole-agent
(umask 0077; PORTHOLE_CORE=/usr/local/bin/porthole-core exec /usr/local/bin/porthole agent --config /etc/porthole/agent.toml \
  >> $T/agent.log 2>&1) &
echo \$! > $T/shared/agent.pid
for i in \$(seq 150); do grep -q "connected to server" $T/agent.log && break; sleep 0.2; done
EOF

# Step 2 and 3 (option B) as written.
on "$VM" vm "$B/01.sh" > "$T/vm-2.log" 2>&1 || { tail -30 "$T/vm-2.log"; exit 1; }
grep -o 'scrypt\$[^ ]*' "$T/vm-2.log" | tail -1 > "$T/shared/operator.hash"
echo "step 2 (keys, operator): ok"
on "$VM" vm "$B/03.sh" > "$T/vm-3.log" 2>&1 || { tail -30 "$T/vm-3.log"; exit 1; }
echo "step 3 (TLS, option B): $(grep 'fullchain.pem: OK' "$T/vm-3.log")"
# Step 4: OPERATOR_HASH from step 2's shell; systemctl replaced by what the unit does.
s=$(edit "$B/04.sh" -e "1i OPERATOR_HASH=\$(cat $T/shared/operator.hash)" \
  -e '/^systemctl daemon-reload/d' -e '/^systemctl status/d' \
  -e "s|^systemctl enable --now porthole-server|source $T/shared/start-server.sh|" \
  -e 's|^curl -fsS https|curl --cacert /etc/porthole/tls/ca.pem -fsS https|')
on "$VM" vm "$s" > "$T/vm-4.log" 2>&1 || { tail -30 "$T/vm-4.log"; tail -20 "$T/server.log"; exit 1; }
echo "step 4 (server): $(tail -1 "$T/vm-4.log")"

# Step 6 on the device; the printed line carried to the VM (instead of pasting it).
on "$DEV" dev "$B/06.sh" > "$T/dev-6.log" 2>&1 || { tail -30 "$T/dev-6.log"; exit 1; }
grep '^hmac-sha256\$' "$T/dev-6.log" > "$T/shared/device.hash"
s=$(edit "$B/07.sh" -e "s|^DEVICE_HASH=.*|DEVICE_HASH=\$(cat $T/shared/device.hash)|" \
  -e "s|^systemctl restart porthole-server|kill \$(cat $T/shared/server.pid); sleep 2; source $T/shared/start-server.sh|")
on "$VM" vm "$s" > "$T/vm-6.log" 2>&1 || { tail -30 "$T/vm-6.log"; exit 1; }
echo "step 6 (enrol, server side): $(tail -1 "$T/vm-6.log")"
s=$(edit "$B/08.sh" -e "s|^scp root@porthole.example.com:|cp $T/vm|")
on "$DEV" dev "$s" > "$T/dev-6b.log" 2>&1 || { tail -30 "$T/dev-6b.log"; exit 1; }
ls -l "$T/dev/etc/porthole"

# Step 7: ca_file uncommented as the doc says for option B; systemctl → what the unit does.
s=$(edit "$B/09.sh" -e 's|^# ca_file = |ca_file = |' -e '/^systemctl daemon-reload/d' \
  -e "s|^systemctl enable --now porthole-agent|source $T/shared/start-agent.sh|")
on "$DEV" dev "$s" > "$T/dev-7.log" 2>&1 || { tail -30 "$T/dev-7.log"; tail -30 "$T/agent.log"; exit 1; }
echo "step 7 (agent): porthole ctl health said:"
sed -n '/porthole ctl health/,$p' "$T/dev-7.log"

# Step 8: the container (a local image: no pull here), then Chromium.
s=$(edit "$B/10.sh" -e "s|--name demo debian:bookworm sleep infinity|--name $DEMO --network none porthole/target:dev sleep infinity|")
bash -x "$s"
echo "$DEMO" > "$T/shared/demo.name"
"$REPO/.venv/bin/python" "$K/browser.py" "$DEMO" "$(cat "$T/vm/root/operator.password")"
echo "TRIAL OK"
