#!/usr/bin/env bash
# Stop what up.sh started, by pid only. Env: INFRA_RUN (default ${TMPDIR:-/tmp}/mailauth-test-infra)
set -uo pipefail
RUN="${INFRA_RUN:-${TMPDIR:-/tmp}/mailauth-test-infra}"
alive() {  # a zombie (an orphan nobody reaps in a container) counts as stopped
  [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
stop() {  # $1 = name, $2 = pid file
  [ -s "$2" ] || return 0
  local pid; pid=$(cat "$2")
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid"; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done   # up to 5 s
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null; echo "$1 ($pid) killed -9"
    else echo "$1 ($pid) stopped"; fi
  fi
  rm -f "$2"
}
# *.saved are up.sh's copies; the daemons' own pid files cover a half-finished up.sh
for f in "$RUN/https.pid.saved" "$RUN/https/https.pid";       do stop https   "$f"; done
for f in "$RUN/unbound.pid.saved" "$RUN/unbound/unbound.pid"; do stop unbound "$f"; done
for f in "$RUN/knot.pid.saved" "$RUN/knot/knot.pid";          do stop knotd   "$f"; done
exit 0
