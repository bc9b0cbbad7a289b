#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup and its helpers run from the EXIT trap
# `npm run e2e`: the end-to-end suites in a cgroup-delegated container.
#
# 1. installs what is missing (docker.io, busybox-static) with apt-get;
# 2. starts a dockerd of its OWN (data root, exec root, pidfile and socket in a temp dir);
# 3. builds shipote (`npm run build`, the native addon when missing);
# 4. builds the local image from busybox + the host's node (no registry, no pull), cached
#    by content hash in .e2e-work/;
# 5. runs `npm run jest -- --selectProjects e2e` (e2e/vm/ excluded: `npm run e2e:v2`);
# 6. ALWAYS (trap) removes every container it made, stops its dockerd by pid, and removes
#    its temp dir, then prints the leftovers check and the wall times.
#
# When the machine cannot run containers (no apt-get, dockerd does not start, not root),
# the suites still run with SHIPOTE_E2E_SKIP set: every test is reported as skipped with
# the reason, and the script exits 0.
#
# Environment:
#   SHIPOTE_E2E_DOCKER=external  use the engine at $DOCKER_HOST (or the default socket)
#                                instead of starting one (a Docker host; see README.md)
#   SHIPOTE_E2E_BUILD=0          do not run `npm run build` first
#   SHIPOTE_E2E_KEEP_TMP=1       keep the temp dir (dockerd log) for debugging
# Extra arguments go to jest (e.g. `npm run e2e -- -t namespaces`).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo" || exit 1

now_ms() { echo $(($(date +%s%N) / 1000000)); }
log() { echo "[e2e] $*"; }
t0=$(now_ms)
tmp=""
dockerd_pid=""
skip_reason=""
docker_cli=$(command -v /usr/bin/docker docker 2>/dev/null | head -n 1)
mode=${SHIPOTE_E2E_DOCKER:-own}
run_label="shipote.e2e.run=$$-$t0"

# ── cleanup (always) ───────────────────────────────────────────────────────────────────
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n ${DOCKER_HOST:-} && -n $docker_cli ]] && "$docker_cli" version >/dev/null 2>&1; then
    local ours
    if [[ $mode == own ]]; then
      ours=$("$docker_cli" ps -aq)
    else
      ours=$("$docker_cli" ps -aq --filter "label=$run_label")
    fi
    if [[ -n $ours ]]; then
      log "removing $(wc -w <<<"$ours") container(s) left by the suites"
      # shellcheck disable=SC2086 # one id per word
      "$docker_cli" rm -f $ours >/dev/null 2>&1
    fi
    local left
    left=$("$docker_cli" ps -aq --filter "label=$run_label" | wc -l)
    log "leftovers: docker ps -a → $left container(s) of this run"
  elif [[ -n $dockerd_pid ]]; then
    log "dockerd does not answer: its containers go with its data root"
  fi
  stop_dockerd
  report_host_cgroups
  if [[ -n $tmp && -d $tmp ]]; then
    if [[ ${SHIPOTE_E2E_KEEP_TMP:-0} == 1 ]]; then
      log "kept $tmp"
    else
      unmount_under "$tmp"
      rm -rf --one-file-system "$tmp"
      if [[ -e $tmp ]]; then
        log "leftovers: could not remove $tmp"
      else
        log "leftovers: temp dir removed"
      fi
    fi
  fi
  log "wall time: total $(($(now_ms) - t0)) ms${timing_summary:+ ($timing_summary)}"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_dockerd() {
  [[ -n $dockerd_pid ]] || return 0
  if kill -0 "$dockerd_pid" 2>/dev/null; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    local deadline=$(($(now_ms) + 20000))
    while kill -0 "$dockerd_pid" 2>/dev/null && (($(now_ms) < deadline)); do sleep 0.1; done
    if kill -0 "$dockerd_pid" 2>/dev/null; then
      log "dockerd $dockerd_pid ignored SIGTERM for 20 s: SIGKILL"
      kill -KILL "$dockerd_pid" 2>/dev/null
    fi
  fi
  wait "$dockerd_pid" 2>/dev/null
  log "dockerd $dockerd_pid stopped"
  dockerd_pid=""
}

# Anything dockerd left mounted under the temp dir (overlay, netns, shm), deepest first.
unmount_under() {
  local dir=$1 mp
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r mp; do umount -l "$mp" 2>/dev/null || log "could not unmount $mp"; done
}

# Read-only look at the host's cgroup tree: docker removes a container's cgroup with it.
report_host_cgroups() {
  [[ $mode == own ]] || return 0
  local dirs
  dirs=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path '*/docker/*' 2>/dev/null | wc -l)
  log "leftovers: host cgroup dirs under */docker/: $dirs"
}

# ── prerequisites ──────────────────────────────────────────────────────────────────────
need_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v busybox >/dev/null || missing+=(busybox-static)
  # A dynamically linked busybox would need its libraries in the image too.
  if command -v busybox >/dev/null && ldd "$(command -v busybox)" >/dev/null 2>&1; then
    missing+=(busybox-static)
  fi
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    skip_reason="needs ${missing[*]} and cannot install them (no root or no apt-get)"
    return 1
  fi
  log "installing ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"${tmp}/apt.log" 2>&1; then
    skip_reason="apt-get install ${missing[*]} failed (see the log above)"
    tail -n 20 "${tmp}/apt.log"
    return 1
  fi
  docker_cli=$(command -v /usr/bin/docker docker 2>/dev/null | head -n 1)
}

start_dockerd() {
  if [[ $(id -u) != 0 ]]; then
    skip_reason="starting a dockerd needs root (or set SHIPOTE_E2E_DOCKER=external)"
    return 1
  fi
  mkdir -p "$tmp/data" "$tmp/exec"
  echo '{}' >"$tmp/daemon.json"
  export DOCKER_HOST="unix://$tmp/docker.sock"
  # Containers need no network: no bridge, no iptables. Its own session, so a Ctrl-C meant
  # for the suites does not stop it before the cleanup has removed the containers.
  setsid dockerd --config-file "$tmp/daemon.json" --data-root "$tmp/data" --exec-root "$tmp/exec" \
    --pidfile "$tmp/dockerd.pid" -H "$DOCKER_HOST" --bridge=none --iptables=false \
    --ip6tables=false --ip-masq=false --userland-proxy=false \
    --exec-opt native.cgroupdriver=cgroupfs --log-level=warn \
    </dev/null >"$tmp/dockerd.log" 2>&1 &
  dockerd_pid=$!
  local deadline=$(($(now_ms) + 30000))
  until "$docker_cli" version >/dev/null 2>&1; do
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      tail -n 20 "$tmp/dockerd.log"
      skip_reason="dockerd exited during start-up (log above)"
      dockerd_pid=""
      return 1
    fi
    if (($(now_ms) > deadline)); then
      tail -n 20 "$tmp/dockerd.log"
      skip_reason="dockerd did not answer within 30 s (log above)"
      return 1
    fi
    sleep 0.1
  done
  log "dockerd $dockerd_pid up in $(($(now_ms) - t_dockerd)) ms on $DOCKER_HOST"
}

use_external_docker() {
  if ! "$docker_cli" version >/dev/null 2>&1; then
    skip_reason="SHIPOTE_E2E_DOCKER=external but no engine answers at ${DOCKER_HOST:-default}"
    return 1
  fi
  export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
  log "using the external engine at $DOCKER_HOST"
}

build_shipote() {
  [[ ${SHIPOTE_E2E_BUILD:-1} == 0 ]] && return 0
  if ! compgen -G 'native/build/Release/*.node' >/dev/null && [[ -f native/binding.gyp ]]; then
    log "building the native addon"
    npm run --silent install >"$tmp/addon.log" 2>&1 ||
      { log "addon build failed:"; tail -n 20 "$tmp/addon.log"; }
  fi
  log "npm run build"
  npm run --silent build >"$tmp/build.log" 2>&1 || {
    log "npm run build reported errors (suites use whatever dist/ holds):"
    tail -n 20 "$tmp/build.log"
  }
}

build_image() {
  local key cache tar
  key=$(bash e2e/image/rootfs.sh key) || return 1
  image="shipote-e2e:$key"
  cache="$repo/.e2e-work"
  tar="$cache/rootfs-$key.tar"
  mkdir -p "$cache"
  if [[ ! -f $tar ]]; then
    log "building rootfs $key"
    rm -f "$cache"/rootfs-*.tar
    bash e2e/image/rootfs.sh build "$tar.partial" && mv "$tar.partial" "$tar" || return 1
  fi
  if ! "$docker_cli" image inspect "$image" >/dev/null 2>&1; then
    "$docker_cli" import --message "shipote e2e rootfs $key" "$tar" "$image" >/dev/null || return 1
  fi
  export SHIPOTE_E2E_IMAGE=$image
  log "image $image ready"
}

# ── main ───────────────────────────────────────────────────────────────────────────────
tmp=$(mktemp -d /tmp/shipote-e2e.XXXXXX)
timing_summary=""

if [[ $(uname -s) != Linux ]]; then
  skip_reason="needs Linux (namespaces and cgroups)"
elif need_packages; then
  t_dockerd=$(now_ms)
  if [[ $mode == external ]]; then use_external_docker; else start_dockerd; fi
fi

if [[ -z $skip_reason ]]; then
  t_build=$(now_ms)
  build_shipote
  t_image=$(now_ms)
  build_image || skip_reason="could not build the local image"
  timing_summary="shipote build $((t_image - t_build)) ms, image $(($(now_ms) - t_image)) ms"
fi

cgroup_fs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)
SHIPOTE_E2E_CGROUP=v1
[[ $cgroup_fs == cgroup2fs ]] && SHIPOTE_E2E_CGROUP=v2
export SHIPOTE_E2E_CGROUP
export SHIPOTE_E2E_RUN_LABEL=$run_label
export TESTCONTAINERS_RYUK_DISABLED=true
# No bridge network to find a gateway on (and /.dockerenv may exist on the host).
export TESTCONTAINERS_HOST_OVERRIDE=localhost
if [[ -n $skip_reason ]]; then
  log "SKIP: $skip_reason"
  export SHIPOTE_E2E_SKIP=$skip_reason
else
  log "host cgroup layout: $cgroup_fs → suites run the cgroup $SHIPOTE_E2E_CGROUP path"
fi

t_suites=$(now_ms)
npm run --silent jest -- --selectProjects e2e --testPathIgnorePatterns '/e2e/vm/' \
  --runInBand --verbose --json --outputFile "$tmp/jest.json" "$@"
rc=$?
timing_summary="${timing_summary:+$timing_summary, }suites $(($(now_ms) - t_suites)) ms"

# Skip reasons (jest does not print the titles of a wholly skipped file), then the plain
# closing line, counted from jest's own report.
# shellcheck disable=SC2016 # JavaScript, not shell
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const why = new Set();
  const mark = { passed: "ok  ", failed: "FAIL", pending: "skip" };
  console.log(`[e2e] behaviours checked (cgroup ${process.argv[2]}):`);
  for (const file of r.testResults) {
    for (const t of file.assertionResults) {
      console.log(`[e2e]   ${mark[t.status] ?? t.status} ${t.title}`);
      if (t.status !== "pending") continue;
      const m = [...t.ancestorTitles, t.title].join(" ").match(/\(skipped: (.*?)\)/);
      why.add(m ? m[1] : "no reason in the title (filtered out with -t?)");
    }
  }
  for (const reason of why) console.log(`[e2e] skipped: ${reason}`);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`e2e: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$tmp/jest.json" "$SHIPOTE_E2E_CGROUP" 2>/dev/null || log "jest wrote no report"

if [[ -n $skip_reason ]]; then
  exit 0
fi
exit "$rc"
