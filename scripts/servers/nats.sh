# NATS with JetStream (Debian's nats-server). The store dir is passed on the command line (-sd) so
# each instance keeps its state in its run dir; flags override the config's listen/http addresses.
srv_nats_ports() { echo NATS_PORT NATS_MONITOR_PORT; }
srv_nats_endpoints() {
  printf 'NATS_URL=nats://127.0.0.1:%s\nNATS_MONITOR_URL=http://127.0.0.1:%s\n' "$NATS_PORT" "$NATS_MONITOR_PORT"
}
# A NATS without JetStream is not usable by Sluice, and 2.9's /healthz says ok for one: ask /jsz too.
srv_nats_healthy() {
  local mon="http://127.0.0.1:$NATS_MONITOR_PORT" jsz
  curl -fsS -m 2 -o /dev/null "$mon/healthz" 2>/dev/null || return 1
  jsz="$(curl -fsS -m 2 "$mon/jsz" 2>/dev/null)" || return 1
  [[ $jsz != *'"disabled": true'* ]]
}
srv_nats_pattern() { echo "-sd $RUN_DIR/nats"; }
srv_nats_start() {
  mkdir -p "$RUN_DIR/nats"
  # nats-server appends "jetstream/" to the store dir itself.
  launch nats "$RUN_DIR/nats" nats-server -c "$REPO_ROOT/infra/nats/dev.conf" -js -sd "$RUN_DIR/nats" \
    -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT"
}
