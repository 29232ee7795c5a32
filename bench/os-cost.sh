#!/usr/bin/env bash
# OpenSearch's CPU per 1,000 egress documents, variants side by side (bench/lib/os-cost.ts), on the
# private instance's OpenSearch, once per heap in OSCOST_HEAPS (default "1g"): the node is
# restarted with each heap. Run under the heavy lock. JSON per heap on stdout.
#   flock /work/notes/heavy.lock timeout 900 bash bench/os-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT="$PWD"
source scripts/lib/test-instance.sh
for heap in ${OSCOST_HEAPS:-1g}; do
  bash scripts/services.sh down opensearch >&2
  eval "$(SLUICE_OPENSEARCH_HEAP=$heap bash scripts/services.sh up opensearch)"
  export OPENSEARCH_URL
  node --import tsx bench/lib/os-cost.ts
done
bash scripts/services.sh down opensearch >&2
