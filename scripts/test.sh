#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: system packages, node modules,
# the BPF objects, the real servers, then every test tier (typecheck first). This is the README's
# test command and exactly what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
echo "==> pnpm install" >&2
pnpm install --frozen-lockfile --reporter=silent
echo "==> build (bpf)" >&2
pnpm -s build

# The suite's private instance (never the servers, maps or cgroups of a Sluice the user runs).
REPO_ROOT="$PWD"
source scripts/lib/test-instance.sh
echo "==> servers (private instance in $SLUICE_RUN_DIR)" >&2
# In CI leave the machine as we found it; on a workstation keep the servers for the next run.
# That includes the instance's kernel side: its pinned, attached programs and its cgroup scope.
if [ "${CI:-}" = "true" ]; then
  source scripts/lib/common.sh
  source scripts/lib/kernel-instance.sh
  trap 'bash scripts/services.sh down all >&2 || true; LOG_TAG=test kernel_instance_remove' EXIT
fi
# SLUICE_TEST_SERVERS narrows the servers for a targeted run (e.g. "nats redis"); the suite needs all.
endpoints="$(bash scripts/services.sh up ${SLUICE_TEST_SERVERS:-all})"
set -a
eval "$endpoints"
# shellcheck disable=SC1091
source "$SLUICE_RUN_DIR/ports.env"
set +a
printf '%s\n' "$endpoints" | sed 's/^/    /' >&2
# A pipeline an interrupted earlier run left on this instance would share the tests' queue groups.
node --import tsx cli/src/main.ts down >&2 || true

report="$SLUICE_RUN_DIR/test-report.json"
mkdir -p "$SLUICE_RUN_DIR"
rc=0
pnpm -s typecheck || rc=$?
if [ "$rc" -eq 0 ]; then
  pnpm -s exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || rc=$?
fi

# What the run left in JetStream (stale durables slowed later runs): names point at the leaker.
[ -n "${NATS_MONITOR_URL:-}" ] && node scripts/lib/nats-leftovers.mjs "$NATS_MONITOR_URL" || true

# One plain closing line any CI reader understands: "tests: N passed, N failed, N skipped".
if [ -f "$report" ] && [ "$rc" -ne 2 ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    // A file that fails before its tests run (a beforeAll) fails no test: count it as a failure too.
    const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).length;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + broken} failed, ${r.numPendingTests + r.numTodoTests} skipped` + (broken ? ` (${broken} file(s) failed outside any test)` : ""));
  ' "$report"
else
  echo "tests: 0 passed, 1 failed (typecheck failed before any test ran)"
fi
exit "$rc"
