#!/usr/bin/env bash
# Start, stop and check the real servers Sluice runs against (DESIGN.md "Real servers").
#
#   scripts/services.sh up|down|status [nats|redis|opensearch|docker|prometheus|all]...   (default: all)
#   scripts/services.sh up|down|status nats-cluster|opensearch-cluster|nats-cN|opensearch-cN...
#
# The clusters (3 NATS JetStream nodes, 2 OpenSearch nodes: scripts/servers/*-cluster.sh) are not
# part of `all`: they are what the cluster tier and bench run on. A cluster name stands for its
# nodes, each a server of its own here, so one node can be stopped and started alone.
# Every server listens on loopback only. State (pid files, logs, data) lives in the instance's run dir:
# .run/ under the repo root by default (what `sluice up` and `sluice run` use), or SLUICE_RUN_DIR.
# `up` prints NAME=URL lines on stdout (everything else goes to stderr), so callers can
# `eval "$(scripts/services.sh up)"`. We only ever stop what our pid files say we started.
#
# SLUICE_PRIVATE_SERVERS=1 makes a private instance (the test suite's): random free ports kept in
# $RUN_DIR/ports.env instead of the well-known ones, and a server of someone else's found on one of its
# ports is never adopted: the instance moves to another port. The default instance reuses a server
# that already answers on its port (e.g. the user's own NATS) and leaves it running on `down`.
#
# One file per server in scripts/servers/; process bookkeeping in scripts/lib/procs.sh; ports in
# scripts/lib/ports.sh; versions in scripts/versions.sh; downloads/provisioning in install-deps.sh.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_TAG=services
RUN_DIR="${SLUICE_RUN_DIR:-$REPO_ROOT/.run}"
PID_DIR="$RUN_DIR/pids"
LOG_DIR="$RUN_DIR/logs"
ALL_SERVERS=(nats redis opensearch docker prometheus)
declare -A SERVER_GROUPS=([nats-cluster]="nats-c1 nats-c2 nats-c3" [opensearch-cluster]="opensearch-c1 opensearch-c2")
GROUP_ORDER=(nats-cluster opensearch-cluster)

source "$REPO_ROOT/scripts/lib/common.sh"
source "$REPO_ROOT/scripts/versions.sh"
source "$REPO_ROOT/scripts/lib/procs.sh"
source "$REPO_ROOT/scripts/lib/ports.sh"
source "$REPO_ROOT/scripts/lib/maven.sh"
source "$REPO_ROOT/scripts/lib/opensearch-dist.sh"
for s in "${ALL_SERVERS[@]}" "${GROUP_ORDER[@]}"; do source "$REPO_ROOT/scripts/servers/$s.sh"; done
# Every single server, in start order: the default set, then the clusters' nodes.
KNOWN_SERVERS=("${ALL_SERVERS[@]}")
for s in "${GROUP_ORDER[@]}"; do read -ra members <<<"${SERVER_GROUPS[$s]}" && KNOWN_SERVERS+=("${members[@]}"); done

usage() {
  echo "usage: $0 up|down|status [nats|redis|opensearch|docker|prometheus|all|nats-cluster|opensearch-cluster|nats-cN|opensearch-cN]..." >&2
  exit 2
}

endpoint() {
  local v
  v="$("srv_$1_endpoints")"
  v="${v%%$'\n'*}"
  echo "${v#*=}"
}

lock() {
  mkdir -p "$RUN_DIR" "$PID_DIR" "$LOG_DIR"
  exec 9>"$RUN_DIR/services.lock"
  flock -w 900 9 || die "another services.sh holds $RUN_DIR/services.lock"
}

# A private instance never shares a port with a server it did not start (Docker aside: one engine per machine).
claim_ports() {
  local s=$1 k busy=0
  [[ $PRIVATE == 1 && $s != docker ]] || return 0
  our_pid "$s" >/dev/null && return 0
  # A cluster's node owns one port of each of its cluster's ranges (scripts/servers/*-cluster.sh).
  if declare -F "srv_${s}_claim" >/dev/null; then
    "srv_${s}_claim"
    return
  fi
  for k in $("srv_${s}_ports"); do port_busy "${!k}" && busy=1; done
  ((busy)) || return 0
  log "$s: a port of this private instance is taken by another process; moving"
  # shellcheck disable=SC2046
  repick_ports $("srv_${s}_ports")
}

cmd_up() {
  save_ports
  local s pid starting=() failed=()
  for s in "$@"; do
    claim_ports "$s"
    if healthy "$s"; then
      if pid="$(our_pid "$s")"; then log "$s: already up (pid $pid)"; else log "$s: already up, not started by us; reusing it"; fi
    elif our_pid "$s" >/dev/null; then
      starting+=("$s") # ours, still booting (an earlier up was interrupted)
    else
      log "$s: starting"
      "srv_${s}_start"
      starting+=("$s")
    fi
  done
  for s in "${starting[@]}"; do
    wait_healthy "$s" && continue
    if declare -F "srv_${s}_retry" >/dev/null && "srv_${s}_retry"; then continue; fi
    failed+=("$s")
  done
  ((${#failed[@]} == 0)) || die "failed to start: ${failed[*]}"
  for s in "$@"; do
    if declare -F "srv_${s}_ready" >/dev/null; then "srv_${s}_ready"; fi
    "srv_${s}_endpoints"
  done
}

cmd_down() {
  local s pid i
  # Reverse start order: consumers of other servers go first.
  for ((i = $#; i >= 1; i--)); do
    s="${!i}"
    if pid="$(our_pid "$s")"; then
      log "$s: stopping pid $pid"
      stop_pid "$s" "$pid" "$(stop_timeout "$s")"
      log "$s: stopped"
    elif healthy "$s"; then
      log "$s: running but not started by us; leaving it"
    else
      log "$s: not running"
    fi
    rm -f "$(pid_file "$s")"
  done
}

cmd_status() {
  local s pid rc=0 state owner
  for s in "$@"; do
    owner=""
    if healthy "$s"; then
      state=up
      if pid="$(our_pid "$s")"; then owner="pid $pid"; else owner=external; fi
    else
      state=down
      rc=1
      if pid="$(our_pid "$s")"; then owner="pid $pid, not healthy"; fi
    fi
    printf '%-14s %-5s %-32s %s\n' "$s" "$state" "$(endpoint "$s")" "$owner"
  done
  return "$rc"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1 s servers=() groups=()
  shift
  (($# > 0)) || set -- all
  for s in "$@"; do
    case $s in
      all) servers+=("${ALL_SERVERS[@]}") ;;
      nats | redis | opensearch | docker | prometheus) servers+=("$s") ;;
      nats-cluster | opensearch-cluster)
        servers+=(${SERVER_GROUPS[$s]})
        groups+=("$s")
        ;;
      *)
        [[ " ${KNOWN_SERVERS[*]} " == *" $s "* ]] || usage
        servers+=("$s")
        ;;
    esac
  done
  # Keep the canonical order (start order) whatever order the names came in, without duplicates.
  local ordered=()
  for s in "${KNOWN_SERVERS[@]}"; do
    [[ " ${servers[*]} " == *" $s "* ]] && ordered+=("$s")
  done
  if [[ $cmd == up || $cmd == down ]] && [[ $EUID -ne 0 ]]; then
    die "must run as root (dockerd, the OpenSearch user, bpffs)"
  fi
  # The lock comes before the ports: a concurrent first `up` of a private instance must see the ports
  # the other one picked, not pick its own.
  [[ $cmd == up ]] && bash "$REPO_ROOT/scripts/install-deps.sh"
  [[ $cmd == status ]] || lock
  load_ports
  case $cmd in
    up)
      cmd_up "${ordered[@]}"
      for s in "${groups[@]}"; do "group_${s}_endpoints"; done
      ;;
    down) cmd_down "${ordered[@]}" ;;
    status) cmd_status "${ordered[@]}" ;;
    *) usage ;;
  esac
}

main "$@"
