// The events of one SLUICE_EVENTS batch (NDJSON). A line that is not JSON or not an EgressEvent is
// handed to `invalid` with its reason, never silently skipped; the learn consumer and the denial
// feed count those the same way. Lines go through the schema's compiled fast check first (as in
// the sink): zod's safeParse was half of the learner's cost per event in a denial storm, and it
// still judges, with its messages, every line the fast check does not accept.
import { compileFastCheck, EgressEvent } from '@sluice/contracts';

export type InvalidLine = 'json' | 'schema';

export interface EgressLine {
  event: EgressEvent;
  /** The line itself when it is exactly the event's JSON (nothing stripped or changed), else undefined. */
  json: string | undefined;
}

const fast = compileFastCheck(EgressEvent);

export function* egressLinesWithJson(text: string, invalid: (why: InvalidLine) => void): Generator<EgressLine> {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      invalid('json');
      continue;
    }
    if (fast?.(json)) {
      yield { event: json as EgressEvent, json: line };
      continue;
    }
    const r = EgressEvent.safeParse(json);
    if (!r.success) {
      invalid('schema');
      continue;
    }
    yield { event: r.data, json: undefined };
  }
}

export function* egressLines(text: string, invalid: (why: InvalidLine) => void): Generator<EgressEvent> {
  for (const { event } of egressLinesWithJson(text, invalid)) yield event;
}
