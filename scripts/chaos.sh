#!/usr/bin/env bash
# `pnpm chaos [--long]`: the chaos bench (bench/chaos.ts) on the private instance, through the bench
# machinery (figures into bench/results/latest.{json,md}). Default 60 s of load; --long: 240 s, as
# the issue that asked for it ran it. CHAOS_SECONDS / CHAOS_RATE / CHAOS_SETTLE_S override.
set -euo pipefail
cd "$(dirname "$0")/.."
for a in "$@"; do
  case "$a" in
    --long) export CHAOS_SECONDS="${CHAOS_SECONDS:-240}" ;;
    *) echo "usage: pnpm chaos [--long]" >&2; exit 2 ;;
  esac
done
exec bash scripts/bench.sh chaos
