#!/usr/bin/env bash
# The cluster tier (`pnpm test:cluster`): scripts/test.sh with the two clusters up, then the
# clusters down again whatever the outcome. scripts/test.sh keeps a workstation's servers for the
# next run (and in CI downs only `all`, which the clusters are not part of); three JetStream servers
# and two OpenSearch JVMs left behind would hold most of a small machine for whoever runs next.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT="$PWD"
# shellcheck disable=SC1091
source scripts/lib/test-instance.sh
trap 'bash scripts/services.sh down nats-cluster opensearch-cluster >&2 || true' EXIT
trap 'exit 143' TERM INT
SLUICE_TEST_SERVERS='redis docker nats-cluster opensearch-cluster' bash scripts/test.sh --project cluster "$@"
