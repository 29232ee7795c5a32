# OpenSearch: the distribution install-deps.sh provisions (shared, read-only), run on the machine's
# JDK as an unprivileged user, with this instance's own config, data and logs.
srv_opensearch_ports() { echo OPENSEARCH_PORT; }
srv_opensearch_endpoints() { printf 'OPENSEARCH_URL=http://127.0.0.1:%s\n' "$OPENSEARCH_PORT"; }
srv_opensearch_healthy() {
  curl -fsS -m 4 -o /dev/null "http://127.0.0.1:$OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null
}
# Every stage of the exec chain (setpriv, env, the bin/opensearch script, java) carries this argument.
srv_opensearch_pattern() { echo "-Epath.data=$RUN_DIR/opensearch/data"; }
# OpenSearch boots slowly on 2 cores.
srv_opensearch_start_timeout() { echo "${SLUICE_OPENSEARCH_TIMEOUT:-180}"; }
srv_opensearch_stop_timeout() { echo 60; }

srv_opensearch_prepare() {
  bash "$REPO_ROOT/scripts/install-deps.sh" opensearch
  local home conf="$RUN_DIR/opensearch/config"
  home="$(opensearch_dist_home)"
  mkdir -p "$RUN_DIR/opensearch"/{data,logs,tmp}
  # Each run dir has its own config dir (OPENSEARCH_PATH_CONF), so a private node never rewrites
  # another node's settings. Rewritten on every start: this script is the single source.
  [[ -d $conf ]] || cp -r "$home/config" "$conf"
  # The launcher runs from the shared home, so jvm.options' relative GC log, error file and heap dump
  # paths would point into it (read-only for the node): make them this instance's.
  sed -i -E "s#(file=|-Xloggc:|ErrorFile=)logs/#\1$RUN_DIR/opensearch/logs/#; s#HeapDumpPath=data\$#HeapDumpPath=$RUN_DIR/opensearch/data#" \
    "$conf/jvm.options"
  cat >"$conf/opensearch.yml" <<YML
# Written by scripts/servers/opensearch.sh on every start; edit the script, not this file.
cluster.name: sluice-dev-$OPENSEARCH_PORT
node.name: sluice-dev-$OPENSEARCH_PORT
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
discovery.type: single-node
path.logs: $RUN_DIR/opensearch/logs
# A filling dev disk must not flip indices to read-only under the tests.
cluster.routing.allocation.disk.threshold_enabled: false
YML
  chown -R "$OPENSEARCH_USER:$OPENSEARCH_USER" "$RUN_DIR/opensearch"
  # Every directory above the run dir must be searchable by the unprivileged user (not so under /root).
  setpriv --reuid="$OPENSEARCH_USER" --regid="$OPENSEARCH_USER" --clear-groups test -w "$RUN_DIR/opensearch/data" ||
    die "user $OPENSEARCH_USER cannot reach $RUN_DIR/opensearch; clone the repo where other users can traverse its parents"
}

srv_opensearch_start() {
  srv_opensearch_prepare
  local home
  home="$(opensearch_dist_home)"
  # A clean environment keeps JAVA_TOOL_OPTIONS and the like of the caller out of the node.
  launch opensearch "$RUN_DIR/opensearch" setpriv --reuid="$OPENSEARCH_USER" --regid="$OPENSEARCH_USER" --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME="$RUN_DIR/opensearch" \
    OPENSEARCH_JAVA_HOME="$(java_home)" OPENSEARCH_TMPDIR="$RUN_DIR/opensearch/tmp" \
    OPENSEARCH_PATH_CONF="$RUN_DIR/opensearch/config" \
    OPENSEARCH_JAVA_OPTS="-Xms${SLUICE_OPENSEARCH_HEAP:-1g} -Xmx${SLUICE_OPENSEARCH_HEAP:-1g}" \
    "$home/bin/opensearch" "-Epath.data=$RUN_DIR/opensearch/data"
}
