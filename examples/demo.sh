#!/usr/bin/env bash
# `npm run demo`: a short tour of shipote on a temp socket and a temp state dir.
# Starts a daemon, a workspace, a supervised command that fails twice then succeeds,
# a fan-out pipeline with --tap, prints what happened, then stops everything.
# SHIPOTE_DEMO_RUNNER=tsx runs the TypeScript sources instead of the compiled dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [[ "${SHIPOTE_DEMO_RUNNER:-}" == tsx ]]; then
  cli=(node --import "$root/node_modules/tsx/dist/loader.mjs" "$root/adapters/cli/main.ts")
else
  [[ -f dist/adapters/cli/main.js ]] || npm run --silent build
  cli=(node "$root/bin/shipote.mjs")
fi

work=$(mktemp -d /tmp/shipote-demo.XXXXXX)
export SHIPOTE_SOCKET=$work/run/shipote.sock
export SHIPOTE_STATE=$work/state/state.json
export SHIPOTE_NO_AUTOSTART=1
daemon_pid=

bold() { if [[ -z "${NO_COLOR:-}" && -t 1 ]]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step() { echo; bold "== $*"; }
shipote() { "${cli[@]}" "$@"; }
show() { printf '$ shipote %s\n' "$*"; shipote "$@"; }

cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Polls `check` (a shell snippet) every 0.1 s until it succeeds or the deadline passes.
wait_until() {
  local what=$1 check=$2 deadline=$((SECONDS + 20))
  until eval "$check" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "demo: timed out waiting for $what" >&2; exit 1; fi
    sleep 0.1
  done
}

# json FIELD-EXPRESSION: reads JSON on stdin, prints the JS expression over `v`.
json() { node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{const v=JSON.parse(s);console.log($1)})"; }

step "start a daemon (socket $SHIPOTE_SOCKET, state $SHIPOTE_STATE)"
"${cli[@]}" daemon >"$work/daemon.log" 2>&1 & # not via the function: $! must be node's pid
daemon_pid=$!
wait_until "the daemon to answer" "shipote health"
sed 's/^/  /' "$work/daemon.log"

step "a workspace"
show workspace create examples/plain.toml
show workspace list

step "a supervised command that fails twice, then succeeds"
counter=$work/attempts
script="n=\$(cat $counter 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $counter; \
echo \"attempt \$n\"; if [ \$n -lt 3 ]; then echo \"attempt \$n fails\" >&2; exit 1; fi"
show run demo --restart-on-failure --label flaky -- /bin/sh -c "$script"
wait_until "flaky to succeed" \
  "shipote commands demo --json | json \"v.find(c=>c.label==='flaky').state\" | grep -qx exited"
show commands demo
show logs demo flaky --both
echo "restart events:"
shipote events | grep -E 'ev=(restart|exit|run) .*label=flaky' | sed 's/^/  /'

step "a pipeline: echo JSON fanned out to two cats, with a tap on each edge"
show pipeline run examples/fan-out.toml --var WS=demo --tap
wait_until "the pipeline to finish" \
  "shipote pipeline list --json | json \"v.running.at(-1).state\" | grep -qx done"
show logs demo fan-out.left --stdout
show logs demo fan-out.right --stdout
show flow list

step "what happened (the event log)"
shipote events | sed 's/^/  /'

step "stop everything"
show workspace stop demo --grace 500
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
echo "daemon exited $rc after SIGTERM (snapshot flushed)"
tail -n 2 "$work/daemon.log" | sed 's/^/  /'
echo "snapshot: $(wc -c <"$SHIPOTE_STATE") bytes in $SHIPOTE_STATE"
