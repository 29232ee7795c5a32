# OpenSearch: the distribution install-deps.sh provisions (shared, read-only), run on the machine's
# JDK as an unprivileged user, with this instance's own config, data and logs.
srv_opensearch_ports() { echo OPENSEARCH_PORT; }
srv_opensearch_endpoints() { printf 'OPENSEARCH_URL=http://127.0.0.1:%s\n' "$OPENSEARCH_PORT"; }
srv_opensearch_healthy() { opensearch_node_healthy "$OPENSEARCH_PORT"; }
# Every stage of the exec chain (setpriv, env, the bin/opensearch script, java) carries this argument.
srv_opensearch_pattern() { echo "-Epath.data=$RUN_DIR/opensearch/data"; }
# OpenSearch boots slowly on 2 cores.
srv_opensearch_start_timeout() { echo "${SLUICE_OPENSEARCH_TIMEOUT:-180}"; }
srv_opensearch_stop_timeout() { echo 60; }

srv_opensearch_start() {
  opensearch_node_prepare "$RUN_DIR/opensearch" <<YML
cluster.name: sluice-dev-$OPENSEARCH_PORT
node.name: sluice-dev-$OPENSEARCH_PORT
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
discovery.type: single-node
YML
  opensearch_node_launch opensearch "$RUN_DIR/opensearch" "${SLUICE_OPENSEARCH_HEAP:-1g}"
}

# --- shared by the single node and the cluster's nodes (scripts/servers/opensearch-cluster.sh) ---

opensearch_node_healthy() {
  curl -fsS -m 4 -o /dev/null "http://127.0.0.1:$1/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null
}

# opensearch_node_prepare DIR <<YML: the node's own config dir under DIR (OPENSEARCH_PATH_CONF), so
# a private node never rewrites another node's settings; opensearch.yml is stdin plus the settings
# every node shares. Rewritten on every start: these scripts are the single source.
opensearch_node_prepare() {
  local dir=$1 home conf="$1/config"
  bash "$REPO_ROOT/scripts/install-deps.sh" opensearch
  home="$(opensearch_dist_home)"
  mkdir -p "$dir"/{data,logs,tmp}
  [[ -d $conf ]] || cp -r "$home/config" "$conf"
  # The launcher runs from the shared home, so jvm.options' relative GC log, error file and heap dump
  # paths would point into it (read-only for the node): make them this node's.
  sed -i -E "s#(file=|-Xloggc:|ErrorFile=)logs/#\1$dir/logs/#; s#HeapDumpPath=data\$#HeapDumpPath=$dir/data#" \
    "$conf/jvm.options"
  {
    echo "# Written by scripts/servers/opensearch*.sh on every start; edit the script, not this file."
    cat
    echo "path.logs: $dir/logs"
    echo "# A filling dev disk must not flip indices to read-only under the tests."
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
  } >"$conf/opensearch.yml"
  chown -R "$OPENSEARCH_USER:$OPENSEARCH_USER" "$dir"
  # Every directory above the run dir must be searchable by the unprivileged user (not so under /root).
  setpriv --reuid="$OPENSEARCH_USER" --regid="$OPENSEARCH_USER" --clear-groups test -w "$dir/data" ||
    die "user $OPENSEARCH_USER cannot reach $dir; clone the repo where other users can traverse its parents"
}

# opensearch_node_launch NAME DIR HEAP. SLUICE_OPENSEARCH_JAVA_OPTS adds JVM options for a diagnosis
# (e.g. -Xlog:jit+compilation=debug:file=...); the clean environment below would drop anything else.
opensearch_node_launch() {
  local name=$1 dir=$2 heap=$3 home
  home="$(opensearch_dist_home)"
  # A clean environment keeps JAVA_TOOL_OPTIONS and the like of the caller out of the node.
  launch "$name" "$dir" setpriv --reuid="$OPENSEARCH_USER" --regid="$OPENSEARCH_USER" --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME="$dir" \
    OPENSEARCH_JAVA_HOME="$(java_home)" OPENSEARCH_TMPDIR="$dir/tmp" \
    OPENSEARCH_PATH_CONF="$dir/config" \
    OPENSEARCH_JAVA_OPTS="-Xms$heap -Xmx$heap${SLUICE_OPENSEARCH_JAVA_OPTS:+ $SLUICE_OPENSEARCH_JAVA_OPTS}" \
    "$home/bin/opensearch" "-Epath.data=$dir/data"
}
