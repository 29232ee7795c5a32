# Prometheus (Debian's), scraping this instance's service metrics ports: the config is written into
# the run dir from infra/prometheus/prometheus.yml with the instance's ports substituted, so a private
# instance never scrapes a user's services.
srv_prometheus_ports() { echo PROMETHEUS_PORT; }
srv_prometheus_endpoints() { printf 'PROMETHEUS_URL=http://127.0.0.1:%s\n' "$PROMETHEUS_PORT"; }
srv_prometheus_healthy() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" 2>/dev/null; }
srv_prometheus_pattern() { echo "$RUN_DIR/prometheus/prometheus.yml"; }
srv_prometheus_start() {
  mkdir -p "$RUN_DIR/prometheus/data"
  local i expr="s/127\\.0\\.0\\.1:9090/127.0.0.1:$PROMETHEUS_PORT/"
  for i in 0 1 2 3 4 5; do expr+=";s/127\\.0\\.0\\.1:$((9464 + i))'/127.0.0.1:$((METRICS_PORT_BASE + i))'/"; done
  sed "$expr" "$REPO_ROOT/infra/prometheus/prometheus.yml" >"$RUN_DIR/prometheus/prometheus.yml"
  # --web.enable-lifecycle: config edits can be applied with POST /-/reload instead of a restart.
  launch prometheus "$RUN_DIR/prometheus" prometheus \
    --config.file="$RUN_DIR/prometheus/prometheus.yml" \
    --storage.tsdb.path="$RUN_DIR/prometheus/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
}
srv_prometheus_ready() {
  local config
  config="$(curl -fsS -m 2 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/status/config" || true)"
  [[ $config == *"job_name: sluice"* ]] ||
    log "prometheus: warning: the running Prometheus does not scrape the sluice job (not our config)"
}
