#!/usr/bin/env bash
# `pnpm chaos [--long]`: the chaos bench (bench/chaos.ts) on the private instance, through the bench
# machinery (figures merged into bench/results/latest.{json,md}), with only the servers it needs
# (NATS, Redis, OpenSearch). Default 60 s of load; --long: 240 s, as the issue that asked for it
# ran it. CHAOS_SECONDS / CHAOS_RATE / CHAOS_SETTLE_S override. `pnpm bench` runs it too (60 s).
set -euo pipefail
cd "$(dirname "$0")/.."
for a in "$@"; do
  case "$a" in
    --long) export CHAOS_SECONDS="${CHAOS_SECONDS:-240}" ;;
    *) echo "usage: pnpm chaos [--long]" >&2; exit 2 ;;
  esac
done
bash scripts/install-deps.sh
pnpm install --frozen-lockfile --reporter=silent >&2
pnpm -s build >&2
REPO_ROOT="$PWD"
source scripts/lib/test-instance.sh
endpoints="$(bash scripts/services.sh up nats redis opensearch)"
set -a
eval "$endpoints"
# shellcheck disable=SC1091
source "$SLUICE_RUN_DIR/ports.env"
set +a
exec node --import tsx bench/run.ts chaos
