# Process bookkeeping for the servers services.sh starts: pid files, detached launch, stop with
# descendants, health waits. Each server file (scripts/servers/NAME.sh) provides srv_NAME_healthy,
# srv_NAME_pattern and srv_NAME_start; the optional srv_NAME_start_timeout / _stop_timeout override
# the defaults. Needs PID_DIR, LOG_DIR, common.sh.

healthy() { "srv_$1_healthy"; }
proc_pattern() { "srv_$1_pattern"; }
start_timeout() { if declare -F "srv_$1_start_timeout" >/dev/null; then "srv_$1_start_timeout"; else echo 30; fi; }
stop_timeout() { if declare -F "srv_$1_stop_timeout" >/dev/null; then "srv_$1_stop_timeout"; else echo 20; fi; }

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

# Runs a server in the background, detached, with its output appended to $LOG_DIR/NAME.log.
# setsid gives it its own session, so it outlives this script and a Ctrl-C (or a kill of the caller's
# process group) doesn't take it down. A daemon must never inherit a lock (ours is fd 9).
launch() {
  local name=$1 cwd=$2
  shift 2
  local logf="$LOG_DIR/$name.log"
  printf '\n=== %s services.sh starting: %s\n' "$(date -Is)" "$*" >>"$logf"
  # The subshell execs, so $! is the server itself (setsid does not fork when not a group leader).
  (
    # Close every inherited descriptor above stderr: our fd 9 lock, and a caller's too (`flock FILE
    # cmd` hands its lock to its command on fd 3+; a server that kept it would hold that lock forever).
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    cd "$cwd" && exec setsid "$@"
  ) </dev/null >>"$logf" 2>&1 &
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
