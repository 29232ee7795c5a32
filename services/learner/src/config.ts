// Variables specific to the learner; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT, NODE_NAME, …)
// come from @sluice/runtime's commonEnv.
export const DEFAULT_METRICS_PORT = 9467;

export const env = {};
