#!/usr/bin/env bash
# The whole suite on a busy machine: two CPU burners keep both cores busy
# while `npm test` runs, as on a loaded laptop or CI runner. The burners are
# stopped whatever happens (success, failure, Ctrl-C), and the script exits
# with the suite's status. Arguments go to vitest; the environment (PG_URL,
# MYSQL_URL, REQUIRE_SERVERS, ...) is the same as for `npm test`.
#
#   REQUIRE_SERVERS=1 npm run test:busy
#   npm run test:busy -- test/reliability        # a part of the suite
#
# BUSY_BURNERS (default 2) sets how many burners run; BUSY_LIMIT_S (default
# 1800) bounds each one, so none can outlive a killed script.
set -u
cd "$(dirname "$0")/.."

burners=${BUSY_BURNERS:-2}
limit=${BUSY_LIMIT_S:-1800}
pids=()

stop_burners() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
}
suite=''
# A signal to this script (Ctrl-C, or `kill` from a CI runner) ends the suite too.
on_signal() {
  # The suite runs in a process group of its own (set -m): end all of it, vitest's workers too.
  [ -n "$suite" ] && kill -TERM -- "-$suite" 2>/dev/null && wait "$suite" 2>/dev/null
  exit "$1"
}
trap stop_burners EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

for _ in $(seq 1 "$burners"); do
  # `timeout` passes the TERM it gets on to the burner, and ends it by itself after $limit s.
  timeout "$limit" node -e 'for (;;) {}' &
  pids+=("$!")
done
echo "test:busy: ${#pids[@]} CPU burners running (pids ${pids[*]}), at most ${limit} s each"

start=$(date +%s)
# In the background, in its own process group, so that a signal reaches the
# trap at once (not after the suite) and the trap can end the whole suite.
set -m
npm test -- "$@" &
suite=$!
wait "$suite"
status=$?
suite=''

elapsed=$(( $(date +%s) - start ))

alive=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
stop_burners
echo "test:busy: suite exited with status ${status} after ${elapsed} s; ${alive} of ${burners} burners were still running at its end"
exit "$status"
