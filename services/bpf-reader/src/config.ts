// Variables specific to the bpf-reader; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT, NODE_NAME, …)
// come from @sluice/runtime's commonEnv.
export const DEFAULT_METRICS_PORT = 9464;

export const env = {};
