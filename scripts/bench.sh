#!/usr/bin/env bash
# `pnpm bench [area…]`: the benchmarks on the same private instance as the test suite (its own
# servers on private ports, pin dirs and scopes), so a bench never loads, drains or measures a Sluice
# the user runs. Figures land in bench/results/latest.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
pnpm install --frozen-lockfile --reporter=silent >&2
pnpm -s build >&2
# Services run as users run them: the compiled bundles just built (testkit startService), not tsx.
export SLUICE_SERVICES_COMPILED="${SLUICE_SERVICES_COMPILED:-1}"
REPO_ROOT="$PWD"
source scripts/lib/test-instance.sh
# SLUICE_BENCH_SERVERS narrows the servers for one area (e.g. "nats" for `pnpm bench cluster`).
read -ra servers <<<"${SLUICE_BENCH_SERVERS:-all}"
# The cluster area runs on the 3-node JetStream and 2-node OpenSearch clusters: heavy on a small
# machine (two more JVMs), so they are up only while it runs. A full run measures every other area
# first with no cluster up, then the cluster area alone. SLUICE_BENCH_CLUSTERS narrows the clusters
# (e.g. "nats-cluster" with BENCH_CLUSTER_PARTS=failover).
read -ra clusters <<<"${SLUICE_BENCH_CLUSTERS:-nats-cluster opensearch-cluster}"
up() {
  local endpoints
  endpoints="$(bash scripts/services.sh up "$@")"
  set -a
  eval "$endpoints"
  # shellcheck disable=SC1091
  source "$SLUICE_RUN_DIR/ports.env"
  set +a
}
with_clusters() {
  trap 'bash scripts/services.sh down "${clusters[@]}" >&2 || true' EXIT
  up "${servers[@]}" "${clusters[@]}"
  node --import tsx bench/run.ts "$@"
}
quick=()
[[ " $* " == *" --quick "* ]] && quick=(--quick)
if (($# == 0)) || [[ "$*" == "--quick" ]]; then
  # A full run starts on an empty JetStream store: what earlier runs and tests left in the instance's
  # NATS (a gigabyte of streams, a dozen stale durables) made the restarted server spend the first
  # area recovering it, and that area's JetStream requests timed out. Every area creates what it uses.
  bash scripts/services.sh down nats >&2
  rm -rf "${SLUICE_RUN_DIR:?}/nats"
  up "${servers[@]}"
  rc=0
  node --import tsx bench/run.ts "${quick[@]}" --except cluster || rc=$?
  with_clusters "${quick[@]}" cluster || rc=$?
  exit "$rc"
elif [[ " $* " == *" cluster "* ]]; then
  with_clusters "$@"
else
  # An area run starts on an empty JetStream store too: consumers and streams that earlier runs left
  # in the instance's NATS piled up (248 consumers, 5.9 GB) until JetStream API requests went
  # unanswered and an e2e run hung after its burst (2026-12-02).
  bash scripts/services.sh down nats >&2
  rm -rf "${SLUICE_RUN_DIR:?}/nats"
  up "${servers[@]}"
  node --import tsx bench/run.ts "$@"
fi
