# Redis (Debian's): state is disposable, so no AOF; RDB snapshots land in the run dir.
srv_redis_ports() { echo REDIS_PORT; }
srv_redis_endpoints() { printf 'REDIS_URL=redis://127.0.0.1:%s\n' "$REDIS_PORT"; }
srv_redis_healthy() { [[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }
# redis rewrites its command line, so only its name is left to recognise it by.
srv_redis_pattern() { echo redis-server; }
srv_redis_start() {
  mkdir -p "$RUN_DIR/redis"
  launch redis "$RUN_DIR/redis" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --daemonize no --appendonly no --dir "$RUN_DIR/redis" --logfile ''
}
