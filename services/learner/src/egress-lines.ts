// The events of one SLUICE_EVENTS batch (NDJSON). A line that is not JSON or not an EgressEvent is
// handed to `invalid` with its reason, never silently skipped; the learn consumer and the denial
// feed count those the same way.
import { EgressEvent } from '@sluice/contracts';

export type InvalidLine = 'json' | 'schema';

export function* egressLines(text: string, invalid: (why: InvalidLine) => void): Generator<EgressEvent> {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      invalid('json');
      continue;
    }
    const r = EgressEvent.safeParse(json);
    if (!r.success) {
      invalid('schema');
      continue;
    }
    yield r.data;
  }
}
