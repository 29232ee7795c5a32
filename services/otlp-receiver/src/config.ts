// Variables specific to the OTLP receiver; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT,
// NODE_NAME, …) come from @sluice/runtime's commonEnv.
import { z } from 'zod';
import { DEFAULT_DROPPED_ATTRIBUTES } from './redact.ts';

export const DEFAULT_METRICS_PORT = 9469;

const int = (min: number) => z.coerce.number().int().min(min);
const list = (fallback: readonly string[]) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    );

export const env = {
  /** Port of the OTLP/HTTP listener (POST /v1/logs); 4318 is OTLP/HTTP's registered port. */
  OTLP_PORT: z.coerce.number().int().min(0).max(65535).default(4318),
  /** Address it binds: agent containers must reach it (their bridge gateway, or 0.0.0.0). */
  OTLP_HOST: z.string().min(1).default('0.0.0.0'),
  /** Largest request body, compressed and once inflated (413 beyond). */
  OTLP_MAX_BODY_BYTES: int(1024).default(4 * 1024 * 1024),
  /** Largest NATS message the records of one request are cut into (keep under the server's max_payload). */
  OTLP_MAX_MESSAGE_BYTES: int(1024).default(512 * 1024),
  /** Log records per second each sender (source IP) may send, and the burst above it (429 beyond). */
  OTLP_RATE_PER_SENDER: int(1).default(20_000),
  OTLP_RATE_BURST: int(1).default(40_000),
  OTLP_RATE_MAX_SENDERS: int(1).default(10_000),
  /**
   * Attributes dropped before storage as prompt or response content (D28), comma-separated whole
   * keys or dotted paths, case-insensitive. Default: Claude Code's prompt field and the GenAI
   * content attributes. Set to a list of your own to replace it; tool decisions, costs, tokens and
   * models are never on it.
   */
  OTLP_DROP_ATTRIBUTES: list(DEFAULT_DROPPED_ATTRIBUTES),
  /** Event names whose record body is content unless it only repeats the event name: such a body is dropped too. */
  OTLP_CONTENT_EVENTS: list(['claude_code.user_prompt', 'gen_ai.user.message', 'gen_ai.assistant.message', 'gen_ai.choice']),
  /** Resource attributes that name the agent / project when the sender sets them (first one set wins). */
  OTLP_AGENT_ATTRIBUTES: list(['dev.clawker.agent', 'clawker.agent', 'agent']),
  OTLP_PROJECT_ATTRIBUTES: list(['dev.clawker.project', 'clawker.project', 'project']),
  /** How long a source IP's identity (or its absence) is reused before asking the attributor again. */
  OTLP_SENDER_CACHE_MS: int(0).default(2000),
  OTLP_SENDER_LOOKUP_TIMEOUT_MS: int(50).default(1000),
};
