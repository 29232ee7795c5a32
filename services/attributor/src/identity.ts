// What the attributor knows about the workload behind one cgroup, and the pre-rendered pieces the
// hot path splices into every event of that workload (identity JSON, subject prefixes).
//
// Subject rule for absent labels: a label that is absent and a label set to "" both become the
// token of the empty string (`%`), so `sluice.events.%.%.DENIED` holds unknown and unlabelled
// traffic. The documents still tell them apart: an absent label is an absent field, an empty
// label is `""`, and an unknown cgroup says `attribution: "unknown"`.
import { subjects, WorkloadIdentity, type Verdict } from '@sluice/contracts';

/** The identity schema is the identity API's (contracts), so what is cached is what is answered. */
export const CachedIdentity = WorkloadIdentity;
export type CachedIdentity = WorkloadIdentity;

/** A cache entry: the identity plus what enrich needs per record, computed once. */
export interface Entry {
  readonly identity: CachedIdentity;
  /** `,"attribution":…,"agent":…` — the identity fields as a JSON fragment with a leading comma. */
  readonly fragment: string;
  /** `fragment` in UTF-8, encoded once: render copies it into every line of the workload. */
  readonly fragmentBytes: Uint8Array;
  /** `sluice.events.<project>.<agent>.` — append the verdict. */
  readonly eventsPrefix: string;
  /**
   * `eventsPrefix` + each verdict, built once: render groups every record by its subject, and a
   * string made per record would be built and hashed per record.
   */
  readonly eventsSubjects: Readonly<Record<Verdict, string>>;
  readonly dnsSubject: string;
}

function tokens(project: string | undefined, agent: string | undefined) {
  const eventsPrefix = subjects.eventsPrefix(project ?? '', agent ?? '');
  return {
    eventsPrefix,
    eventsSubjects: { ALLOWED: `${eventsPrefix}ALLOWED`, DENIED: `${eventsPrefix}DENIED`, BYPASSED: `${eventsPrefix}BYPASSED` },
    dnsSubject: subjects.dns(project ?? '', agent ?? ''),
  };
}

export function makeEntry(identity: CachedIdentity): Entry {
  const doc: Record<string, string> = { attribution: identity.attribution };
  for (const k of ['agent', 'project', 'container_id', 'container_name', 'image'] as const) {
    const v = identity[k];
    if (v !== undefined) doc[k] = v;
  }
  const fragment = ',' + JSON.stringify(doc).slice(1, -1);
  return { identity, fragment, fragmentBytes: Buffer.from(fragment, 'utf8'), ...tokens(identity.project, identity.agent) };
}

/** The entry every unattributable record gets: kept, marked, never dropped (D27). */
export const UNKNOWN: Entry = {
  identity: { attribution: 'docker', node: '-', ips: [], started_ms: 0, can_bypass_raw: false },
  fragment: ',"attribution":"unknown"',
  fragmentBytes: Buffer.from(',"attribution":"unknown"', 'utf8'),
  ...tokens(undefined, undefined),
};

/** Parse an identity read back from Redis (shared with other writers: validate, name the key). */
export function parseStoredIdentity(key: string, json: string): CachedIdentity {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`redis ${key}: not JSON: ${(err as Error).message}`);
  }
  const r = CachedIdentity.safeParse(raw);
  if (!r.success) {
    const where = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`redis ${key}: not an identity: ${where}`);
  }
  return r.data;
}
