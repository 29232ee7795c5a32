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
endpoints="$(bash scripts/services.sh up all)"
set -a
eval "$endpoints"
# shellcheck disable=SC1091
source "$SLUICE_RUN_DIR/ports.env"
set +a
exec node --import tsx bench/run.ts "$@"
