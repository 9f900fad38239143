#!/usr/bin/env bash
# fuzz.sh [FUZZTIME]: runs every Go fuzz target of core-go (each `func FuzzX(f
# *testing.F)` in a _test.go file) for FUZZTIME (default 10s) with
# `go test -fuzz`, one after the other, and prints each target's exec count.
# Run it through scripts/in-netns.sh (make fuzz does): the targets feed fuzzed
# ICE candidates to real pion sessions, which then send connectivity checks
# to whatever address the fuzzer wrote; in the private namespace nothing
# leaves the machine.
#
# FUZZMINIMIZETIME (default 2s) bounds how long go test shrinks an input
# that found new coverage or failed. Go's default, 60s, is spent without
# counting execs: with the slower rpcserver targets (a peer connection per
# accepted input) a 10 s run would mostly minimize.
#
# Go <= 1.26 has a race in its fuzz coordinator (go.dev/issue/75804, fixed
# in Go 1.27): when -fuzztime runs out while a worker is mid-input, the
# target can fail with a bare "context deadline exceeded" and no failing
# input. Such a run is reported as "deadline" and does not fail the sweep;
# any run that wrote a failing input, or failed any other way, does.
#
# A failing target does not stop the others; the exit status is 1 if any
# failed. A failing input is written by go test under the package's
# testdata/fuzz/FuzzX/: commit it and it runs in every plain `go test`.
set -uo pipefail

FUZZTIME=${1:-10s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-2s}
cd "$(dirname "$0")/../core-go"

# package directory and target name, one per line, sorted for a stable order
mapfile -t targets < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
  sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#\1 \2#' | sort)
((${#targets[@]} > 0)) || { echo "fuzz: no targets found" >&2; exit 1; }

failed=()
summary=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "==== $name (./$pkg) for $FUZZTIME"
  log=$(mktemp)
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "./$pkg" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  execs=$(grep -Eo 'execs: [0-9]+ \([0-9]+/sec\)' "$log" | tail -n1)
  coordinator_race=0
  if ((rc != 0)) && grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
    coordinator_race=1
  fi
  rm -f "$log"
  if ((rc == 0)); then
    summary+=("$(printf '%-28s ok      %s' "$name" "${execs:-execs: ?}")")
  elif ((coordinator_race)); then
    summary+=("$(printf '%-28s ok      %s (stopped by go.dev/issue/75804, no failing input)' "$name" "${execs:-execs: ?}")")
  else
    summary+=("$(printf '%-28s FAILED  %s' "$name" "${execs:-execs: ?}")")
    failed+=("$name")
  fi
done

echo
echo "==== fuzz summary ($FUZZTIME per target)"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
