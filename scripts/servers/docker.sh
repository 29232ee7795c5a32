# Docker: dockerd from docker.io, run by hand (no systemd), data under the run dir. There is one
# engine per machine (its socket is fixed): every instance shares it, and a private instance names its
# containers, networks and compose projects so they never meet a user's.
DOCKER_SOCK=/var/run/docker.sock
srv_docker_ports() { :; }
srv_docker_endpoints() { printf 'DOCKER_HOST=unix://%s\n' "$DOCKER_SOCK"; }
srv_docker_healthy() { [[ "$(curl -fsS -m 2 --unix-socket "$DOCKER_SOCK" http://localhost/_ping 2>/dev/null)" == OK ]]; }
srv_docker_pattern() { echo "$RUN_DIR/docker/data"; }
srv_docker_start_timeout() { echo 60; }
# dockerd first stops its containers (10 s each by default).
srv_docker_stop_timeout() { echo 60; }

# overlay2 when the kernel can mount overlayfs on the data-root's filesystem, else vfs (slow but works
# anywhere). Probed once and remembered: a data-root must keep the driver it was created with.
docker_storage_driver() {
  local f="$RUN_DIR/docker/storage-driver"
  if [[ -n ${SLUICE_DOCKER_STORAGE_DRIVER:-} ]]; then
    echo "$SLUICE_DOCKER_STORAGE_DRIVER"
    return
  fi
  if [[ ! -s $f ]]; then
    local probe="$RUN_DIR/docker/overlay-probe" driver=vfs
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
      umount "$probe/merged"
      driver=overlay2
    fi
    rm -rf "$probe"
    echo "$driver" >"$f"
  fi
  cat "$f"
}

srv_docker_start() {
  mkdir -p "$RUN_DIR/docker/data"
  local driver iptables=true
  driver="$(docker_storage_driver)"
  # Remembered after a start failed on iptables (a kernel without netfilter NAT): then no port publishing.
  [[ -s $RUN_DIR/docker/iptables ]] && iptables="$(cat "$RUN_DIR/docker/iptables")"
  log "docker: storage driver $driver, iptables $iptables"
  # cgroupfs: there is no systemd to delegate cgroups to. Containers still land in the cgroup v2
  # hierarchy (0::/docker/<id>), which is what the BPF programs attach to. The sluice runtime holds
  # an agent's start until its policy entry is in place (infra/runtime/sluice-runc).
  launch docker "$RUN_DIR/docker" dockerd --host "unix://$DOCKER_SOCK" \
    --data-root "$RUN_DIR/docker/data" --pidfile "$RUN_DIR/docker/dockerd.pid" \
    --storage-driver "$driver" --exec-opt native.cgroupdriver=cgroupfs --iptables="$iptables" \
    --add-runtime "sluice=$REPO_ROOT/infra/runtime/sluice-runc"
}

# dockerd exits at once when the kernel lacks the netfilter pieces it wants: retry without them.
srv_docker_retry() {
  grep -qi iptables "$LOG_DIR/docker.log" && [[ ! -s $RUN_DIR/docker/iptables ]] || return 1
  log "docker: retrying with --iptables=false"
  echo false >"$RUN_DIR/docker/iptables"
  srv_docker_start
  wait_healthy docker
}

# busybox-static's wget segfaults (static glibc); use nc/nslookup for network probes in tests.
srv_docker_ready() {
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  log "docker: importing $BASE_IMAGE from /bin/busybox"
  local rootfs
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var}
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  local applet
  while read -r applet; do
    [[ -e $rootfs/$applet ]] || ln -s /bin/busybox "$rootfs/$applet"
  done < <(/bin/busybox --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar --numeric-owner -C "$rootfs" -c . |
    docker import --message "sluice base: host busybox-static" \
      --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["/bin/sh"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}
