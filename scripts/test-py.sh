#!/usr/bin/env bash
# test-py.sh WORKERS [PYTEST ARGS...]: pytest for `make test-py` (run inside scripts/in-netns.sh).
#
# WORKERS=1: one pytest process, as it always was.
# WORKERS=N>1: N pytest-xdist workers, each in a network namespace of its own
# (in-netns.sh --fresh: its own pth0 10.213.7.1, its own 10.213.x test links,
# iptables and sysctls), so that tests running side by side never share one;
# a worker steals queued tests from the other when it runs out (the suite
# waits far more than it computes). Without PYTEST ARGS (the whole suite) the
# secrets scan, tests/test_zz_secrets_in_logs.py, must see every log of the
# run: it runs after the workers are done, on their basetemp
# (PORTHOLE_SCAN_BASETEMP).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
workers=${1:?usage: test-py.sh WORKERS [PYTEST ARGS...]}
shift
common=(-q --durations=25)

if ((workers <= 1)); then
  exec "$PY" -m pytest "${common[@]}" "$@"
fi

xdist=(-p xdist --tx "$workers*popen//python=bash $ROOT/scripts/in-netns.sh --fresh $PY" --dist worksteal)
if (($# > 0)); then
  exec "$PY" -m pytest "${common[@]}" "${xdist[@]}" "$@"
fi

SCAN=tests/test_zz_secrets_in_logs.py
run=$(mktemp -d "${TMPDIR:-/tmp}/porthole-pytest.XXXXXX")
"$PY" -m pytest "${common[@]}" "${xdist[@]}" --basetemp "$run/base" --ignore "$SCAN"
suite=$?
echo "---- $SCAN, over the logs of the workers ($run/base)"
PORTHOLE_SCAN_BASETEMP=$run/base "$PY" -m pytest -q "$SCAN"
scan=$?
if ((suite == 0 && scan == 0)); then
  rm -rf "$run"
else
  echo "test-py: pytest exit codes: suite $suite, secrets scan $scan; the run's files stay in $run"
fi
((suite == 0 && scan == 0))
