# The test instance's kernel side: its pinned programs, links and maps under $SLUICE_BPF_PIN and
# its managed cgroup scope $SLUICE_MANAGED_CGROUPS. Pinned links keep the programs attached after
# every process has exited, so a CI run on a fresh clone (a new path, so a new instance) that left
# them behind leaked a dozen attached programs and ~20 maps into the kernel per run. Sourced by
# scripts/test.sh, which calls kernel_instance_remove on exit in CI, after the services are down.

# Refuses anything but a test instance's names: never the pin dir or scope of a Sluice the user runs.
kernel_instance_remove() {
  local pin="${SLUICE_BPF_PIN:-}" scope="${SLUICE_MANAGED_CGROUPS:-}" root
  case "$pin" in /sys/fs/bpf/sluice-test-*) ;; *) log "kernel instance: not a test pin dir, left alone: '$pin'"; return 0 ;; esac
  case "$scope" in /sluice-test-*) ;; *) log "kernel instance: not a test scope, left alone: '$scope'"; return 0 ;; esac
  # Unlinking a pinned link detaches its program; maps go with their last reference.
  if [ -d "$pin" ]; then
    rm -rf -- "$pin" || log "kernel instance: could not remove all of $pin"
  fi
  root="$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)"
  if [ -n "$root" ] && [ -d "$root$scope" ]; then
    # Deepest first; a cgroup that still holds a process stays, and says so.
    find "$root$scope" -depth -type d -exec rmdir {} + 2>/dev/null ||
      log "kernel instance: $root$scope still holds processes or cgroups; left in place"
  fi
}
