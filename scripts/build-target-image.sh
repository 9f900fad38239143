#!/usr/bin/env bash
# Builds porthole/target:dev, the container that tests (and `make run`'s demo)
# open terminals into. There is no image registry here, so the image is a rootfs
# made from Debian's busybox-static, packed with `docker import`:
#   /bin/busybox + every applet as a symlink (sh, stty, ps, sleep, cat, head,
#   base64, kill, id, ...), /etc/passwd and /etc/group with root (0) and a
#   non-root user `operator` (uid/gid 1000, home /home/operator), /tmp (1777).
# The image's CMD sleeps forever; run it with `--network none`. PID 1 is a plain
# `sleep`, which ignores SIGTERM: remove containers with force (SIGKILL).
#
# The image carries a label porthole.build-hash (this script + the busybox
# binary); it is rebuilt only when that changes or the image is missing.
# Env: PORTHOLE_TARGET_IMAGE (default porthole/target:dev), FORCE=1 to rebuild.
set -euo pipefail
image=${PORTHOLE_TARGET_IMAGE:-porthole/target:dev}
busybox=/bin/busybox
log() { printf 'build-target-image: %s\n' "$*" >&2; }
die() { printf 'build-target-image: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x $busybox ]] && "$busybox" --list-full >/dev/null 2>&1 \
  || die "$busybox missing or not a full busybox: apt-get install busybox-static"
if ldd "$busybox" >/dev/null 2>&1; then
  die "$busybox is dynamically linked; the image needs Debian's busybox-static"
fi

hash=$(cat "${BASH_SOURCE[0]}" "$busybox" | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{ index .Config.Labels "porthole.build-hash" }}' "$image" 2>/dev/null || true)
if [[ $current == "$hash" && ${FORCE:-0} != 1 ]]; then
  log "$image is up to date ($hash)"
  exit 0
fi
log "building $image (hash $hash${current:+, was $current})"
old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,home/operator,tmp,proc,sys,dev,run,var/tmp}

cp "$busybox" "$rootfs/bin/busybox"
# One symlink per applet, at the path busybox itself says it belongs.
while read -r applet; do
  [[ -e $rootfs/$applet || -L $rootfs/$applet ]] && continue
  ln -s /bin/busybox "$rootfs/$applet"
done < <("$busybox" --list-full)
for need in sh stty ps sleep cat head base64 kill id; do
  [[ -L $rootfs/bin/$need || -L $rootfs/usr/bin/$need ]] || die "busybox has no applet '$need'"
done

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
operator:x:1000:1000:operator:/home/operator:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
operator:x:1000:
nogroup:x:65534:
EOF
cat >"$rootfs/etc/shadow" <<'EOF'
root:!:1::::::
operator:!:1::::::
nobody:!:1::::::
EOF
chmod 0640 "$rootfs/etc/shadow"
cat >"$rootfs/etc/profile" <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PS1='\u@\h:\w\$ '
EOF
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
chmod 0700 "$rootfs/root"

# Owners are set by tar, not chown (no root needed): everything root's but
# operator's home. Fixed order and times: the same inputs give the same layer.
tar_opts=(--numeric-owner --sort=name --mtime='@0')
tar "${tar_opts[@]}" --owner=0 --group=0 --exclude=./home/operator -C "$rootfs" -cf "$work/rootfs.tar" .
tar "${tar_opts[@]}" --owner=1000 --group=1000 -C "$rootfs" -rf "$work/rootfs.tar" ./home/operator

docker import \
  --change 'CMD ["sleep", "2147483647"]' \
  --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'WORKDIR /' \
  --change "LABEL porthole.build-hash=$hash" \
  --change 'LABEL org.opencontainers.image.title=porthole-target org.opencontainers.image.description="busybox test target for Porthole"' \
  --message "porthole target image (scripts/build-target-image.sh)" \
  "$work/rootfs.tar" "$image" >/dev/null

got=$(docker image inspect -f '{{ index .Config.Labels "porthole.build-hash" }}' "$image")
[[ $got == "$hash" ]] || die "imported $image but its label says '$got', not '$hash'"
# The previous build, now untagged: drop it unless a container still uses it.
new_id=$(docker image inspect -f '{{.Id}}' "$image")
if [[ -n $old_id && $old_id != "$new_id" ]]; then
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
log "built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
