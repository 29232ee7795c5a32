# Shared by the scripts under scripts/: logging to stderr and the two caches. Callers set LOG_TAG.
REPO_ROOT="${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
REPO_CACHE="$REPO_ROOT/.cache"
# Survives fresh clones on the same machine, so a second clone doesn't download again.
MACHINE_CACHE="${SLUICE_MACHINE_CACHE:-/var/cache/sluice}"

log() { printf '[%s] %s\n' "${LOG_TAG:-sluice}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
