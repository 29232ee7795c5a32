#!/usr/bin/env bash
# Start, stop and check the real servers Sluice runs against (DESIGN.md "Real servers").
#
#   scripts/services.sh up|down|status [nats|redis|opensearch|docker|prometheus|all]...   (default: all)
#
# Every server listens on loopback only. State (pid files, logs, data) lives in .run/ under the repo
# root; downloads are cached in .cache/ and in a machine-wide cache so a fresh clone doesn't download
# again. `up` prints NAME=URL lines on stdout (everything else goes to stderr), so callers can
# `eval "$(scripts/services.sh up)"`. A server that already answers on its port is reused and never
# stopped by `down`: we only stop what our pid files say we started.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# SLUICE_RUN_DIR and the SLUICE_*_PORT variables give a second, private instance (fault tests that
# stop and restart a server use one, so they never disturb the shared servers or depend on owning them).
RUN_DIR="${SLUICE_RUN_DIR:-$REPO_ROOT/.run}"
PID_DIR="$RUN_DIR/pids"
LOG_DIR="$RUN_DIR/logs"
REPO_CACHE="$REPO_ROOT/.cache"
MACHINE_CACHE="${SLUICE_MACHINE_CACHE:-/var/cache/sluice}"

ALL_SERVERS=(nats redis opensearch docker prometheus)

NATS_PORT="${SLUICE_NATS_PORT:-4222}"
NATS_MONITOR_PORT="${SLUICE_NATS_MONITOR_PORT:-8222}"
REDIS_PORT="${SLUICE_REDIS_PORT:-6379}"
OPENSEARCH_PORT="${SLUICE_OPENSEARCH_PORT:-9200}"
PROMETHEUS_PORT="${SLUICE_PROMETHEUS_PORT:-9090}"
DOCKER_SOCK=/var/run/docker.sock

# 2.19.x is the newest line that runs on JDK 17 (bookworm has no JDK 21; 3.x needs 21+).
OPENSEARCH_VERSION="${SLUICE_OPENSEARCH_VERSION:-2.19.6}"
OPENSEARCH_HEAP="${SLUICE_OPENSEARCH_HEAP:-1g}"
# OpenSearch refuses to run as root.
OPENSEARCH_USER=sluice-os
BASE_IMAGE=sluice/base:busybox

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  echo "usage: $0 up|down|status [nats|redis|opensearch|docker|prometheus|all]..." >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------------
# Per-server facts: endpoint, health probe, how to recognise our process, time budgets.

endpoint_vars() {
  case $1 in
    nats) printf 'NATS_URL=nats://127.0.0.1:%s\nNATS_MONITOR_URL=http://127.0.0.1:%s\n' "$NATS_PORT" "$NATS_MONITOR_PORT" ;;
    redis) printf 'REDIS_URL=redis://127.0.0.1:%s\n' "$REDIS_PORT" ;;
    opensearch) printf 'OPENSEARCH_URL=http://127.0.0.1:%s\n' "$OPENSEARCH_PORT" ;;
    docker) printf 'DOCKER_HOST=unix://%s\n' "$DOCKER_SOCK" ;;
    prometheus) printf 'PROMETHEUS_URL=http://127.0.0.1:%s\n' "$PROMETHEUS_PORT" ;;
  esac
}

endpoint() {
  local v
  v="$(endpoint_vars "$1")"
  v="${v%%$'\n'*}"
  echo "${v#*=}"
}

# A NATS without JetStream is not usable by Sluice, and 2.9's /healthz says ok for one: ask /jsz too.
nats_healthy() {
  local mon="http://127.0.0.1:$NATS_MONITOR_PORT" jsz
  curl -fsS -m 2 -o /dev/null "$mon/healthz" 2>/dev/null || return 1
  jsz="$(curl -fsS -m 2 "$mon/jsz" 2>/dev/null)" || return 1
  [[ $jsz != *'"disabled": true'* ]]
}

# One quick probe, no waiting: 0 when the server answers and is usable.
healthy() {
  case $1 in
    nats) nats_healthy ;;
    redis) [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] ;;
    opensearch) curl -fsS -m 4 -o /dev/null "http://127.0.0.1:$OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null ;;
    docker) [[ "$(curl -fsS -m 2 --unix-socket "$DOCKER_SOCK" http://localhost/_ping 2>/dev/null)" == OK ]] ;;
    prometheus) curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" 2>/dev/null ;;
  esac
}

# A fragment of the command line of the server we start (and of the setsid/setpriv/env/launcher
# stages that exec into it), to tell our server from an unrelated process that reused its pid.
# Paths inside this clone where possible; redis rewrites its command line, so only its name is left.
proc_pattern() {
  case $1 in
    nats) echo "$REPO_ROOT/infra/nats/dev.conf" ;;
    redis) echo redis-server ;;
    opensearch) echo "$RUN_DIR/opensearch/opensearch-" ;;
    docker) echo "$RUN_DIR/docker/data" ;;
    prometheus) echo "$REPO_ROOT/infra/prometheus/prometheus.yml" ;;
  esac
}

# Seconds to wait for health after start; OpenSearch boots slowly on 2 cores.
start_timeout() {
  case $1 in
    opensearch) echo "${SLUICE_OPENSEARCH_TIMEOUT:-180}" ;;
    docker) echo 60 ;;
    *) echo 30 ;;
  esac
}

# Seconds between SIGTERM and SIGKILL; dockerd first stops its containers (10 s each by default).
stop_timeout() {
  case $1 in
    opensearch | docker) echo 60 ;;
    *) echo 20 ;;
  esac
}

# ---------------------------------------------------------------------------------------------------
# Process bookkeeping.

pid_file() { echo "$PID_DIR/$1.pid"; }

alive() {
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  # A zombie has exited; it only waits for its parent to reap it.
  [[ -n $state && $state != Z ]]
}

# Prints the pid from NAME's pid file when that process is alive and still the server we started
# (pids are reused, so the command line must match too).
our_pid() {
  local f pid
  f="$(pid_file "$1")"
  [[ -s $f ]] || return 1
  read -r pid <"$f" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(proc_pattern "$1")" || return 1
  echo "$pid"
}

# Runs a server in the background, detached, with its output appended to .run/logs/NAME.log.
# setsid gives it its own session, so it outlives this script and a Ctrl-C (or a kill of the caller's
# process group) doesn't take it down. fd 9 is our lock: a daemon must never inherit it.
launch() {
  local name=$1 cwd=$2
  shift 2
  local logf="$LOG_DIR/$name.log"
  printf '\n=== %s services.sh starting: %s\n' "$(date -Is)" "$*" >>"$logf"
  # The subshell execs, so $! is the server itself (setsid does not fork when not a group leader).
  (cd "$cwd" && exec setsid "$@") </dev/null >>"$logf" 2>&1 9>&- &
  local pid=$! deadline=$((SECONDS + 5))
  echo "$pid" >"$(pid_file "$name")"
  # Until the subshell has exec'd, its command line is this script's: wait for that, so our_pid
  # doesn't mistake a server that is still being exec'd for one that died.
  while alive "$pid" && ! our_pid "$name" >/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
}

# All descendants of a pid, by walking the ppid links in one ps snapshot.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      for (p in parent) {
        q = p
        while (q in parent && q != root && q > 1) q = parent[q]
        if (q == root && p != root) print p
      }
    }'
}

# wait_gone "PID..." SECONDS: 0 once none of the pids is alive.
wait_gone() {
  local deadline=$((SECONDS + $2)) p any
  while :; do
    any=0
    for p in $1; do alive "$p" && any=1 && break; done
    ((any)) || return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# SIGTERM, wait, SIGKILL, for the server and everything it spawned. Descendants are listed before
# signalling: once the server dies they are reparented and could not be found any more (dockerd's
# containerd would otherwise survive a SIGKILL of dockerd).
stop_pid() {
  local name=$1 pid=$2 timeout=$3 kids
  kids="$(descendants "$pid" | tr '\n' ' ')"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$timeout"; then
    log "$name: still running ${timeout}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name: pid $pid survived SIGKILL"
  fi
  local left=() k
  for k in $kids; do alive "$k" && left+=("$k"); done
  if ((${#left[@]})); then
    log "$name: stopping leftover children ${left[*]}"
    kill -TERM "${left[@]}" 2>/dev/null || true
    wait_gone "${left[*]}" 10 || kill -KILL "${left[@]}" 2>/dev/null || true
    wait_gone "${left[*]}" 5 || die "$name: children ${left[*]} survived SIGKILL"
  fi
}

fail_start() {
  local name=$1 why=$2 logf="$LOG_DIR/$1.log"
  log "$name: $why; last lines of $logf:"
  tail -n 40 "$logf" | sed 's/^/    /' >&2 || true
  local pid
  if pid="$(our_pid "$name")"; then stop_pid "$name" "$pid" 10; fi
  rm -f "$(pid_file "$name")"
}

# Waits until healthy; fails early if the process we started died.
wait_healthy() {
  local name=$1 timeout started=$SECONDS
  timeout="$(start_timeout "$name")"
  while ! healthy "$name"; do
    if ! our_pid "$name" >/dev/null; then
      fail_start "$name" "exited during start-up"
      return 1
    fi
    if ((SECONDS - started >= timeout)); then
      fail_start "$name" "not healthy after ${timeout}s"
      return 1
    fi
    sleep 0.5
  done
  log "$name: healthy after $((SECONDS - started))s"
}

# ---------------------------------------------------------------------------------------------------
# Downloads: a Maven Central artifact cached in the machine cache (survives fresh clones) and linked
# into the repo's .cache/. Prints the local path; returns 3 when the artifact is not published.

maven_fetch() {
  local group=$1 artifact=$2 version=$3 ext=$4
  local rel="${group//.//}/$artifact/$version/$artifact-$version.$ext"
  local repo_copy="$REPO_CACHE/maven/$rel" machine_copy="$MACHINE_CACHE/maven/$rel"
  if [[ ! -s $repo_copy ]]; then
    if [[ ! -s $machine_copy ]]; then
      mkdir -p "$(dirname "$machine_copy")"
      log "fetching $group:$artifact:$version:$ext with maven"
      # Maven's own client resolves from the configured Central repository and verifies checksums.
      local out
      if ! out="$(mvn -B -q dependency:copy -Dartifact="$group:$artifact:$version:$ext" \
        -DoutputDirectory="$(dirname "$machine_copy")" -Dmdep.overWriteReleases=true 2>&1)"; then
        if grep -qiE 'could not find artifact|unable to find artifact|was not found in|could not be resolved' <<<"$out"; then return 3; fi
        printf '%s\n' "$out" | tail -n 20 >&2
        die "maven could not fetch $group:$artifact:$version:$ext"
      fi
    fi
    mkdir -p "$(dirname "$repo_copy")"
    ln -f "$machine_copy" "$repo_copy" 2>/dev/null || cp "$machine_copy" "$repo_copy"
  fi
  echo "$repo_copy"
}

# ---------------------------------------------------------------------------------------------------
# NATS

start_nats() {
  mkdir -p "$RUN_DIR/nats"
  # nats-server appends "jetstream/" to the store dir itself.
  # Flags override the config file's listen/http addresses, so a private instance can move ports.
  launch nats "$RUN_DIR/nats" nats-server -c "$REPO_ROOT/infra/nats/dev.conf" -js -sd "$RUN_DIR/nats" \
    -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT"
}

# ---------------------------------------------------------------------------------------------------
# Redis: state is disposable, so no AOF; RDB snapshots land in .run/redis.

start_redis() {
  mkdir -p "$RUN_DIR/redis"
  launch redis "$RUN_DIR/redis" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --daemonize no --appendonly no --dir "$RUN_DIR/redis" --logfile ''
}

# ---------------------------------------------------------------------------------------------------
# OpenSearch: the integ-test zip from Maven Central (no bundled JDK, no security plugin, and only the
# transport-netty4 module), run on the machine's JDK as an unprivileged user.

java_home() {
  local java
  java="$(readlink -f "$(command -v java)")" || die "no java on PATH (install-deps.sh installs openjdk-17)"
  dirname "$(dirname "$java")"
}

opensearch_home() { echo "$RUN_DIR/opensearch/opensearch-$OPENSEARCH_VERSION"; }

# ISM (index-state-management) needs job-scheduler too; both must match the node version exactly.
install_opensearch_ism() {
  local home=$1 v="$OPENSEARCH_VERSION.0" js ism rc=0
  ism="$(maven_fetch org.opensearch.plugin opensearch-index-management "$v" zip)" || rc=$?
  if ((rc == 3)); then
    log "opensearch: ISM plugin org.opensearch.plugin:opensearch-index-management:$v is not on Maven Central; node runs without ISM"
    echo absent >"$RUN_DIR/opensearch/ism"
    return 0
  fi
  ((rc == 0)) || die "could not fetch the ISM plugin (see maven's messages above)"
  js="$(maven_fetch org.opensearch.plugin opensearch-job-scheduler "$v" zip)" ||
    die "ISM found but its dependency opensearch-job-scheduler:$v is not on Maven Central"
  local z
  for z in "$js" "$ism"; do
    OPENSEARCH_JAVA_HOME="$(java_home)" "$home/bin/opensearch-plugin" install --batch "file://$z" >&2
  done
  echo installed >"$RUN_DIR/opensearch/ism"
}

prepare_opensearch() {
  local home
  home="$(opensearch_home)"
  id -u "$OPENSEARCH_USER" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OPENSEARCH_USER"
  mkdir -p "$RUN_DIR/opensearch"/{data,logs,tmp}
  if [[ ! -f $home/.sluice-installed ]]; then
    local zip staging="$RUN_DIR/opensearch/staging"
    zip="$(maven_fetch org.opensearch.distribution.integ-test-zip opensearch "$OPENSEARCH_VERSION" zip)" ||
      die "opensearch $OPENSEARCH_VERSION integ-test zip is not on Maven Central"
    log "opensearch: unpacking $OPENSEARCH_VERSION"
    rm -rf "$staging" "$home"
    mkdir -p "$staging"
    unzip -q "$zip" -d "$staging"
    mv "$staging/opensearch-$OPENSEARCH_VERSION" "$home"
    rm -rf "$staging"
    install_opensearch_ism "$home"
    touch "$home/.sluice-installed"
  fi
  # Each run dir has its own config dir (OPENSEARCH_PATH_CONF), so a private node never rewrites
  # the shared node's settings. Rewritten on every start: the script is the single source.
  local conf="$RUN_DIR/opensearch/config"
  [[ -d $conf ]] || cp -r "$home/config" "$conf"
  cat >"$conf/opensearch.yml" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
cluster.name: sluice-dev
node.name: sluice-dev-$OPENSEARCH_PORT
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
discovery.type: single-node
path.data: $RUN_DIR/opensearch/data
path.logs: $RUN_DIR/opensearch/logs
# A filling dev disk must not flip indices to read-only under the tests.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  chown -R "$OPENSEARCH_USER:$OPENSEARCH_USER" "$RUN_DIR/opensearch"
  # Every directory above .run/ must be searchable by the unprivileged user (not so under /root).
  setpriv --reuid="$OPENSEARCH_USER" --regid="$OPENSEARCH_USER" --clear-groups test -w "$RUN_DIR/opensearch/data" ||
    die "user $OPENSEARCH_USER cannot reach $RUN_DIR/opensearch; clone the repo where other users can traverse its parents"
}

start_opensearch() {
  prepare_opensearch
  local home
  home="$(opensearch_home)"
  # cwd = home: jvm.options writes heap dumps and JVM error files relative to the working directory.
  # A clean environment keeps JAVA_TOOL_OPTIONS and the like of the caller out of the node.
  launch opensearch "$home" setpriv --reuid="$OPENSEARCH_USER" --regid="$OPENSEARCH_USER" --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME="$RUN_DIR/opensearch" \
    OPENSEARCH_JAVA_HOME="$(java_home)" OPENSEARCH_TMPDIR="$RUN_DIR/opensearch/tmp" \
    OPENSEARCH_PATH_CONF="$RUN_DIR/opensearch/config" \
    OPENSEARCH_JAVA_OPTS="-Xms$OPENSEARCH_HEAP -Xmx$OPENSEARCH_HEAP" \
    "$home/bin/opensearch"
}

# ---------------------------------------------------------------------------------------------------
# Docker: dockerd from docker.io, run by hand (no systemd), data under .run/docker.

# overlay2 when the kernel can mount overlayfs on the data-root's filesystem, else vfs (slow but works
# anywhere). Probed once and remembered: a data-root must keep the driver it was created with.
docker_storage_driver() {
  local f="$RUN_DIR/docker/storage-driver"
  if [[ -n ${SLUICE_DOCKER_STORAGE_DRIVER:-} ]]; then
    echo "$SLUICE_DOCKER_STORAGE_DRIVER"
    return
  fi
  if [[ ! -s $f ]]; then
    local probe="$RUN_DIR/docker/overlay-probe" driver=vfs
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
      umount "$probe/merged"
      driver=overlay2
    fi
    rm -rf "$probe"
    echo "$driver" >"$f"
  fi
  cat "$f"
}

start_docker() {
  mkdir -p "$RUN_DIR/docker/data"
  local driver iptables=true
  driver="$(docker_storage_driver)"
  # Remembered after a start failed on iptables (a kernel without netfilter NAT): then no port publishing.
  [[ -s $RUN_DIR/docker/iptables ]] && iptables="$(cat "$RUN_DIR/docker/iptables")"
  log "docker: storage driver $driver, iptables $iptables"
  # cgroupfs: there is no systemd to delegate cgroups to. Containers still land in the cgroup v2
  # hierarchy (0::/docker/<id>), which is what the BPF programs attach to.
  launch docker "$RUN_DIR/docker" dockerd --host "unix://$DOCKER_SOCK" \
    --data-root "$RUN_DIR/docker/data" --pidfile "$RUN_DIR/docker/dockerd.pid" \
    --storage-driver "$driver" --exec-opt native.cgroupdriver=cgroupfs --iptables="$iptables"
}

# No registry is reachable, so the smallest base image is made here from the host's static busybox.
# busybox-static's wget segfaults (static glibc); use nc/nslookup for network probes in tests.
ensure_base_image() {
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  log "docker: importing $BASE_IMAGE from /bin/busybox"
  local rootfs
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var}
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  local applet
  while read -r applet; do
    [[ -e $rootfs/$applet ]] || ln -s /bin/busybox "$rootfs/$applet"
  done < <(/bin/busybox --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar --numeric-owner -C "$rootfs" -c . |
    docker import --message "sluice base: host busybox-static" \
      --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["/bin/sh"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# ---------------------------------------------------------------------------------------------------
# Prometheus (Debian's), scraping the services' metrics ports per infra/prometheus/prometheus.yml.

start_prometheus() {
  mkdir -p "$RUN_DIR/prometheus/data"
  # --web.enable-lifecycle: config edits can be applied with POST /-/reload instead of a restart.
  launch prometheus "$RUN_DIR/prometheus" prometheus \
    --config.file="$REPO_ROOT/infra/prometheus/prometheus.yml" \
    --storage.tsdb.path="$RUN_DIR/prometheus/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
}

# ---------------------------------------------------------------------------------------------------
# Commands.

lock() {
  mkdir -p "$RUN_DIR" "$PID_DIR" "$LOG_DIR"
  exec 9>"$RUN_DIR/services.lock"
  flock -w 900 9 || die "another services.sh holds $RUN_DIR/services.lock"
}

cmd_up() {
  "$REPO_ROOT/scripts/install-deps.sh"
  lock
  local s pid starting=() failed=()
  for s in "$@"; do
    if healthy "$s"; then
      if pid="$(our_pid "$s")"; then log "$s: already up (pid $pid)"; else log "$s: already up, not started by us; reusing it"; fi
    elif our_pid "$s" >/dev/null; then
      starting+=("$s") # ours, still booting (an earlier up was interrupted)
    else
      log "$s: starting"
      "start_$s"
      starting+=("$s")
    fi
  done
  for s in "${starting[@]}"; do
    if ! wait_healthy "$s"; then
      # dockerd exits at once when the kernel lacks the netfilter pieces it wants: retry without them.
      if [[ $s == docker ]] && grep -qi iptables "$LOG_DIR/docker.log" && [[ ! -s $RUN_DIR/docker/iptables ]]; then
        log "docker: retrying with --iptables=false"
        echo false >"$RUN_DIR/docker/iptables"
        start_docker
        wait_healthy docker && continue
      fi
      failed+=("$s")
    fi
  done
  ((${#failed[@]} == 0)) || die "failed to start: ${failed[*]}"
  for s in "$@"; do
    case $s in
      docker) ensure_base_image ;;
      prometheus)
        local config
        config="$(curl -fsS -m 2 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/status/config" || true)"
        [[ $config == *"job_name: sluice"* ]] ||
          log "prometheus: warning: the running Prometheus does not scrape the sluice job (not our config)"
        ;;
    esac
    endpoint_vars "$s"
  done
}

cmd_down() {
  lock
  local s pid i
  # Reverse start order: consumers of other servers go first.
  for ((i = $# ; i >= 1 ; i--)); do
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
    printf '%-11s %-5s %-32s %s\n' "$s" "$state" "$(endpoint "$s")" "$owner"
  done
  return "$rc"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1 s servers=()
  shift
  (($# > 0)) || set -- all
  for s in "$@"; do
    case $s in
      all) servers+=("${ALL_SERVERS[@]}") ;;
      nats | redis | opensearch | docker | prometheus) servers+=("$s") ;;
      *) usage ;;
    esac
  done
  # Keep the canonical order (start order) whatever order the names came in, without duplicates.
  local ordered=()
  for s in "${ALL_SERVERS[@]}"; do
    [[ " ${servers[*]} " == *" $s "* ]] && ordered+=("$s")
  done
  if [[ $cmd == up || $cmd == down ]] && [[ $EUID -ne 0 ]]; then
    die "must run as root (dockerd, the OpenSearch user, bpffs)"
  fi
  case $cmd in
    up) cmd_up "${ordered[@]}" ;;
    down) cmd_down "${ordered[@]}" ;;
    status) cmd_status "${ordered[@]}" ;;
    *) usage ;;
  esac
}

main "$@"
