# The ports of one instance (one run dir). The default instance (.run/, what `sluice up` and
# `sluice run` use) listens on the well-known ports. A private instance (SLUICE_PRIVATE_SERVERS=1,
# the test suite's) never does: its ports are picked free at random the first time and kept in
# $RUN_DIR/ports.env, so a workstation reuses its servers across runs, and a port that something
# else took meanwhile is picked anew rather than shared. Needs RUN_DIR, common.sh.

PORT_KEYS=(NATS_PORT NATS_MONITOR_PORT REDIS_PORT OPENSEARCH_PORT PROMETHEUS_PORT METRICS_PORT_BASE OTLP_PORT
  NATS_CLUSTER_PORT NATS_CLUSTER_MONITOR_PORT NATS_CLUSTER_ROUTE_PORT OPENSEARCH_CLUSTER_PORT OPENSEARCH_CLUSTER_TRANSPORT_PORT)
declare -A PORT_DEFAULT=([NATS_PORT]=4222 [NATS_MONITOR_PORT]=8222 [REDIS_PORT]=6379 [OPENSEARCH_PORT]=9200
  [PROMETHEUS_PORT]=9090 [METRICS_PORT_BASE]=9464 [OTLP_PORT]=4318
  [NATS_CLUSTER_PORT]=14222 [NATS_CLUSTER_MONITOR_PORT]=18222 [NATS_CLUSTER_ROUTE_PORT]=16222
  [OPENSEARCH_CLUSTER_PORT]=19201 [OPENSEARCH_CLUSTER_TRANSPORT_PORT]=19301)
# METRICS_PORT_BASE is the first of the six services' metrics ports (bpf-reader … sink, otlp-receiver);
# the cluster keys are the first of one port per node (scripts/servers/*-cluster.sh).
declare -A PORT_SPAN=([METRICS_PORT_BASE]=6 [NATS_CLUSTER_PORT]=3 [NATS_CLUSTER_MONITOR_PORT]=3
  [NATS_CLUSTER_ROUTE_PORT]=3 [OPENSEARCH_CLUSTER_PORT]=2 [OPENSEARCH_CLUSTER_TRANSPORT_PORT]=2)
PRIVATE="${SLUICE_PRIVATE_SERVERS:-0}"
PORTS_FILE="$RUN_DIR/ports.env"
PICKED=" "

port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# A free port (or run of N ports) below the ephemeral range, never a well-known default.
pick_port() {
  local span=${1:-1} p i ok tries=0
  while ((tries++ < 500)); do
    p=$((20000 + RANDOM % 12000))
    ok=1
    for ((i = 0; i < span; i++)); do
      if port_busy $((p + i)) || [[ $PICKED == *" $((p + i)) "* ]]; then ok=0 && break; fi
      case $((p + i)) in 4222 | 8222 | 6379 | 9200 | 9090 | 946[4-9] | 4318) ok=0 ;; esac
    done
    if ((ok)); then
      for ((i = 0; i < span; i++)); do PICKED+="$((p + i)) "; done
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

load_ports() {
  # ports.env holds SLUICE_<KEY>=N lines; it wins over the environment once written.
  # shellcheck disable=SC1090
  [[ -s $PORTS_FILE ]] && source "$PORTS_FILE"
  local k v
  for k in "${PORT_KEYS[@]}"; do
    v="SLUICE_$k"
    v="${!v:-}"
    if [[ -z $v ]]; then
      if [[ $PRIVATE == 1 ]]; then v="$(pick_port "${PORT_SPAN[$k]:-1}")"; else v="${PORT_DEFAULT[$k]}"; fi
    fi
    printf -v "$k" '%s' "$v"
  done
}

save_ports() {
  [[ $PRIVATE == 1 ]] || return 0
  mkdir -p "$RUN_DIR"
  local k tmp="$PORTS_FILE.tmp"
  : >"$tmp"
  for k in "${PORT_KEYS[@]}"; do echo "SLUICE_$k=${!k}" >>"$tmp"; done
  mv "$tmp" "$PORTS_FILE"
}

# claim_node_ports NODE "PORT..." "SIBLING..." KEY...: a cluster node's own ports (one of each of
# its cluster's ranges) are free, or the whole cluster moves, which only works while none of its
# nodes runs: a running sibling keeps its routes to the old ports.
claim_node_ports() {
  local node=$1 ports=$2 siblings=$3 p busy=0 sib
  shift 3
  for p in $ports; do port_busy "$p" && busy=1; done
  ((busy)) || return 0
  for sib in $siblings; do
    our_pid "$sib" >/dev/null && die "$node: a port of its range ($ports) is taken by another process while $sib runs; stop the whole cluster to move it"
  done
  log "$node: a port of this private instance's cluster is taken by another process; moving the cluster"
  repick_ports "$@"
}

# A private instance's server found its port taken by something not ours: move it.
repick_ports() {
  local k
  for k in "$@"; do printf -v "$k" '%s' "$(pick_port "${PORT_SPAN[$k]:-1}")"; done
  save_ports
}
