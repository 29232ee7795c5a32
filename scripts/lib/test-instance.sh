# The test suite's own Sluice instance, sourced by scripts/test.sh: a private run dir, private random
# ports (scripts/lib/ports.sh), its own BPF pin dir, managed cgroup scope, node name and compose
# project. Tests therefore never touch a Sluice — or a NATS, Redis or OpenSearch — that a user runs
# on the same machine, and `sluice run` finds its own .run/ untouched after the suite.
# Per clone (a hash of its path), so two clones can test side by side.
tag="$(printf '%s' "$REPO_ROOT" | sha1sum | cut -c1-8)"
export SLUICE_RUN_DIR="${SLUICE_TEST_RUN_DIR:-$REPO_ROOT/.run-test}"
export SLUICE_PRIVATE_SERVERS=1
export SLUICE_BPF_PIN="/sys/fs/bpf/sluice-test-$tag"
export SLUICE_MANAGED_CGROUPS="/sluice-test-$tag"
export NODE_NAME="sluice-test-$tag"
export SLUICE_COMPOSE_PROJECT="sluice-test-$tag"
unset tag
# Whatever the caller's shell points at belongs to the caller, never to the tests.
unset NATS_URL NATS_MONITOR_URL REDIS_URL OPENSEARCH_URL PROMETHEUS_URL
