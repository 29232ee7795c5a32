#!/usr/bin/env bash
# `pnpm bench [area…]`: the benchmarks on the same private instance as the test suite (its own
# servers on private ports, pin dirs and scopes), so a bench never loads, drains or measures a Sluice
# the user runs. Figures land in bench/results/latest.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
pnpm install --frozen-lockfile --reporter=silent >&2
pnpm -s build >&2
REPO_ROOT="$PWD"
source scripts/lib/test-instance.sh
# SLUICE_BENCH_SERVERS narrows the servers for one area (e.g. "nats" for `pnpm bench cluster`).
read -ra servers <<<"${SLUICE_BENCH_SERVERS:-all}"
# The cluster area (a full run, or `pnpm bench cluster`) runs on the 3-node JetStream and 2-node
# OpenSearch clusters: heavy on a small machine, so they are stopped again when the bench ends.
# SLUICE_BENCH_CLUSTERS narrows them (e.g. "nats-cluster" with BENCH_CLUSTER_PARTS=failover).
if (($# == 0)) || [[ " $* " == *" cluster "* ]]; then
  read -ra clusters <<<"${SLUICE_BENCH_CLUSTERS:-nats-cluster opensearch-cluster}"
  servers+=("${clusters[@]}")
  trap 'bash scripts/services.sh down "${clusters[@]}" >&2 || true' EXIT
fi
endpoints="$(bash scripts/services.sh up "${servers[@]}")"
set -a
eval "$endpoints"
# shellcheck disable=SC1091
source "$SLUICE_RUN_DIR/ports.env"
set +a
node --import tsx bench/run.ts "$@"
