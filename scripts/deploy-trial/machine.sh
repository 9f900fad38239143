#!/usr/bin/env bash
# machine.sh NAME SCRIPT: runs SCRIPT (sourced, set -e) as if on machine NAME: in a private mount
# namespace (the caller runs us under `unshare -m --propagation private`), with this
# machine's own /etc, /opt, /usr/local/bin, /root, /var/lib and /run/porthole bound over
# the real ones. Nothing outside $T changes.
set -euo pipefail
NAME=$1 SCRIPT=$2
M=$T/$NAME
mount --make-rprivate /
mount --bind "$M/etc" /etc
mount --bind "$M/opt" /opt
mount --bind "$M/bin" /usr/local/bin
mount --bind "$M/root" /root
mount --bind "$M/varlib" /var/lib
mount --bind "$M/runporthole" /run/porthole
export HOME=/root
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd /root
set -x
# shellcheck disable=SC1090
source "$SCRIPT"
