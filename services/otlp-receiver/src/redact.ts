// D28: prompt and response content is never stored. Attributes named in the drop list are removed
// from each record (and from a structured body) before anything is published, so not even
// JetStream holds them; only their names travel on, in `redacted`, and each drop is counted by
// name. Matching is on the whole key, case-insensitively, at any depth of a map value. Structural
// fields (tool decisions, costs, token counts, models, API metadata) are not on the list and stay.
import type { OtlpValue } from '@sluice/contracts';

/**
 * Claude Code's prompt fields (`prompt` on claude_code.user_prompt, present when
 * OTEL_LOG_USER_PROMPTS=1) and the GenAI semantic conventions' content attributes, which other
 * agents emit. `prompt_length` is not content and stays.
 */
export const DEFAULT_DROPPED_ATTRIBUTES = [
  'prompt',
  'user_prompt',
  'response',
  'assistant_response',
  'completion',
  'message.content',
  'gen_ai.prompt',
  'gen_ai.completion',
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.user.message',
  'gen_ai.assistant.message',
  'gen_ai.choice',
] as const;

export class Redactor {
  private readonly names: Set<string>;

  constructor(names: Iterable<string>) {
    this.names = new Set([...names].map((n) => n.toLowerCase()));
  }

  /** The configured name a dropped path matched: a bounded metric label whatever the sender nests. */
  labelOf(path: string): string {
    if (path === 'body') return 'body';
    // The longest dotted suffix on the list: keys may hold dots themselves (`gen_ai.prompt`).
    const parts = path.toLowerCase().split('.');
    for (let k = 0; k < parts.length; k++) {
      const suffix = parts.slice(k).join('.');
      if (this.names.has(suffix)) return suffix;
    }
    return 'other';
  }

  /** Removes dropped keys from `attrs` in place (recursively through maps); returns the dropped paths. */
  redact(attrs: Record<string, OtlpValue>, into: string[] = [], prefix = ''): string[] {
    if (this.names.size === 0) return into;
    for (const key of Object.keys(attrs)) {
      const path = prefix + key;
      if (this.names.has(key.toLowerCase()) || this.names.has(path.toLowerCase())) {
        delete attrs[key];
        into.push(path);
        continue;
      }
      const v = attrs[key];
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) this.redact(v, into, `${path}.`);
    }
    return into;
  }
}
