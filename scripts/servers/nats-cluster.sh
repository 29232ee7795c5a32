# A 3-node NATS JetStream cluster on loopback (`services.sh up nats-cluster`): servers nats-c1..c3,
# each its own process, config, store dir and ports (client, monitor, route: three consecutive
# ports from NATS_CLUSTER_PORT, NATS_CLUSTER_MONITOR_PORT, NATS_CLUSTER_ROUTE_PORT), full-mesh
# routes. Each node is also a server name of its own, so a test can kill one (pids/nats-cN.pid)
# and bring exactly that one back (`services.sh up nats-c2`).
# The nodes run nats-server $NATS_SERVER_VERSION, built once per machine from the Go module proxy
# (scripts/build-nats-server.sh), not Debian's 2.9: 2.9 clusters JetStream as Sluice uses it, but
# the current release is what a new deployment runs (docs/cluster.md "Which nats-server").
# SLUICE_NATS_CLUSTER_SERVER=debian runs Debian's 2.9 instead.
NATS_CLUSTER_NODES=3

natsc_binary() {
  case ${SLUICE_NATS_CLUSTER_SERVER:-built} in
    debian) command -v nats-server ;;
    built) bash "$REPO_ROOT/scripts/build-nats-server.sh" ;;
    *) die "SLUICE_NATS_CLUSTER_SERVER is '$SLUICE_NATS_CLUSTER_SERVER'; expected built (default) or debian" ;;
  esac
}

natsc_dir() { echo "$RUN_DIR/nats-c$1"; }
natsc_port() { echo $((NATS_CLUSTER_PORT + $1 - 1)); }
natsc_monitor() { echo $((NATS_CLUSTER_MONITOR_PORT + $1 - 1)); }
natsc_route() { echo $((NATS_CLUSTER_ROUTE_PORT + $1 - 1)); }

natsc_healthy() {
  local mon="http://127.0.0.1:$(natsc_monitor "$1")" jsz
  curl -fsS -m 2 -o /dev/null "$mon/healthz" 2>/dev/null || return 1
  jsz="$(curl -fsS -m 2 "$mon/jsz" 2>/dev/null)" || return 1
  # Clustered JetStream is usable once the meta group has a leader this node knows of.
  [[ $jsz != *'"disabled": true'* && $jsz == *'"leader"'* ]]
}

natsc_start() {
  local i=$1 dir routes="" j bin version
  dir="$(natsc_dir "$i")"
  bin="$(natsc_binary)"
  version="$("$bin" --version)" || die "nats-c$i: $bin --version failed"
  version="${version##* }"
  # One store per server version: a newer server upgrades a store in place and an older one may
  # not read it back, so switching SLUICE_NATS_CLUSTER_SERVER must not share one.
  mkdir -p "$dir/store-$version"
  for ((j = 1; j <= NATS_CLUSTER_NODES; j++)); do routes+="    nats-route://127.0.0.1:$(natsc_route "$j")"$'\n'; done
  cat >"$dir/nats.conf" <<CONF
# Written by scripts/servers/nats-cluster.sh on every start; edit the script, not this file.
server_name: sluice-c$NATS_CLUSTER_PORT-$i
listen: 127.0.0.1:$(natsc_port "$i")
http: 127.0.0.1:$(natsc_monitor "$i")
jetstream {
  store_dir: "$dir/store-$version"
  max_memory_store: 256MB
  # Streams reserve their max_bytes up front on every peer; bookkeeping, not disk used.
  max_file_store: 48GB
}
cluster {
  name: sluice-c$NATS_CLUSTER_PORT
  listen: 127.0.0.1:$(natsc_route "$i")
  routes: [
$routes  ]
}
CONF
  launch "nats-c$i" "$dir" "$bin" -c "$dir/nats.conf"
}

for i in $(seq 1 "$NATS_CLUSTER_NODES"); do
  eval "
srv_nats-c${i}_ports() { echo NATS_CLUSTER_PORT NATS_CLUSTER_MONITOR_PORT NATS_CLUSTER_ROUTE_PORT; }
srv_nats-c${i}_endpoints() { printf 'NATS_C${i}_URL=nats://127.0.0.1:%s\n' \"\$(natsc_port $i)\"; }
srv_nats-c${i}_healthy() { natsc_healthy $i; }
srv_nats-c${i}_pattern() { echo \"-c \$(natsc_dir $i)/nats.conf\"; }
srv_nats-c${i}_start() { natsc_start $i; }
srv_nats-c${i}_claim() {
  claim_node_ports nats-c$i \"\$(natsc_port $i) \$(natsc_monitor $i) \$(natsc_route $i)\" \"nats-c1 nats-c2 nats-c3\" \
    NATS_CLUSTER_PORT NATS_CLUSTER_MONITOR_PORT NATS_CLUSTER_ROUTE_PORT
}
"
done
unset i

# What `up nats-cluster` prints: the seed list services take as NATS_URL, and the monitors.
group_nats-cluster_endpoints() {
  local i urls=() mons=()
  for ((i = 1; i <= NATS_CLUSTER_NODES; i++)); do
    urls+=("nats://127.0.0.1:$(natsc_port "$i")")
    mons+=("http://127.0.0.1:$(natsc_monitor "$i")")
  done
  (
    IFS=,
    printf 'NATS_CLUSTER_URL=%s\nNATS_CLUSTER_MONITOR_URLS=%s\n' "${urls[*]}" "${mons[*]}"
  )
}
