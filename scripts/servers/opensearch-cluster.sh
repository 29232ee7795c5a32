# A 2-node OpenSearch cluster on loopback (`services.sh up opensearch-cluster`): opensearch-c1 and
# -c2 run the same shared distribution (.cache/opensearch) with their own config, data and logs,
# small heaps (SLUICE_OPENSEARCH_CLUSTER_HEAP, default 512m), HTTP ports from
# OPENSEARCH_CLUSTER_PORT and transport ports from OPENSEARCH_CLUSTER_TRANSPORT_PORT.
#
# c1 is the one cluster-manager-eligible node, c2 holds data only. Two manager-eligible nodes give
# no fault tolerance (the voting configuration keeps one of them, and which one is up to the
# cluster), so a fixed manager makes "kill one node" deterministic: c2 may die and come back at
# any time, the replicas the sink's templates ask for (auto_expand_replicas 0-1) keep every
# document on both nodes, and c2's primaries are promoted on c1. A fault-tolerant manager layer
# needs 3 manager-eligible nodes (docs/cluster.md).
OPENSEARCH_CLUSTER_NODES=2

osc_dir() { echo "$RUN_DIR/opensearch-c$1"; }
osc_port() { echo $((OPENSEARCH_CLUSTER_PORT + $1 - 1)); }
osc_transport() { echo $((OPENSEARCH_CLUSTER_TRANSPORT_PORT + $1 - 1)); }
osc_node_name() { echo "sluice-c$OPENSEARCH_CLUSTER_PORT-$1"; }

osc_start() {
  local i=$1 dir seeds="" j roles
  dir="$(osc_dir "$i")"
  for ((j = 1; j <= OPENSEARCH_CLUSTER_NODES; j++)); do seeds+="${seeds:+, }127.0.0.1:$(osc_transport "$j")"; done
  if ((i == 1)); then roles="[cluster_manager, data, ingest]"; else roles="[data, ingest]"; fi
  opensearch_node_prepare "$dir" <<YML
cluster.name: sluice-c$OPENSEARCH_CLUSTER_PORT
node.name: $(osc_node_name "$i")
node.roles: $roles
network.host: 127.0.0.1
http.port: $(osc_port "$i")
transport.port: $(osc_transport "$i")
discovery.seed_hosts: [$seeds]
cluster.initial_cluster_manager_nodes: [$(osc_node_name 1)]
YML
  opensearch_node_launch "opensearch-c$i" "$dir" "${SLUICE_OPENSEARCH_CLUSTER_HEAP:-512m}"
}

for i in $(seq 1 "$OPENSEARCH_CLUSTER_NODES"); do
  eval "
srv_opensearch-c${i}_ports() { echo OPENSEARCH_CLUSTER_PORT OPENSEARCH_CLUSTER_TRANSPORT_PORT; }
srv_opensearch-c${i}_endpoints() { printf 'OPENSEARCH_C${i}_URL=http://127.0.0.1:%s\n' \"\$(osc_port $i)\"; }
srv_opensearch-c${i}_healthy() { opensearch_node_healthy \"\$(osc_port $i)\"; }
srv_opensearch-c${i}_pattern() { echo \"-Epath.data=\$(osc_dir $i)/data\"; }
srv_opensearch-c${i}_start_timeout() { echo \"\${SLUICE_OPENSEARCH_TIMEOUT:-240}\"; }
srv_opensearch-c${i}_stop_timeout() { echo 60; }
srv_opensearch-c${i}_start() { osc_start $i; }
srv_opensearch-c${i}_claim() {
  claim_node_ports opensearch-c$i \"\$(osc_port $i) \$(osc_transport $i)\" \"opensearch-c1 opensearch-c2\" \
    OPENSEARCH_CLUSTER_PORT OPENSEARCH_CLUSTER_TRANSPORT_PORT
}
"
done
unset i

group_opensearch-cluster_endpoints() {
  printf 'OPENSEARCH_CLUSTER_URL=http://127.0.0.1:%s,http://127.0.0.1:%s\n' "$(osc_port 1)" "$(osc_port 2)"
}
