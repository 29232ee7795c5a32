// Rollover and retention. With the index-management plugin, an ISM policy does it; without it
// (the bare OpenSearch zip), the sink drives `_rollover` and deletes expired backing indices
// itself. The policy and the self-driven plan come from the same settings.
import type { SourceName } from './document.ts';
import { dataStreamName, otelPatterns, TEMPLATE_VERSION, type OtelFamily } from './templates.ts';

export interface LifecycleSettings {
  rolloverMaxAge: string;
  rolloverMaxSize: string;
  retention: string;
}

export function policyId(prefix: string): string {
  return `${prefix}sluice-events`;
}

/** The description carries version and settings, so a changed setting is seen as a policy to update. */
export function policyDescription(s: LifecycleSettings): string {
  return `managed by sluice-sink v${TEMPLATE_VERSION}: rollover ${s.rolloverMaxAge}/${s.rolloverMaxSize}, delete ${s.retention} after rollover`;
}

export function ismPolicy(prefix: string, sources: ReadonlyArray<SourceName | OtelFamily>, s: LifecycleSettings): Record<string, unknown> {
  return {
    policy: {
      description: policyDescription(s),
      default_state: 'hot',
      states: [
        {
          name: 'hot',
          actions: [{ rollover: { min_index_age: s.rolloverMaxAge, min_size: s.rolloverMaxSize } }],
          transitions: [{ state_name: 'delete', conditions: { min_rollover_age: s.retention } }],
        },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      // ISM matches a data stream's backing indices by the data stream's name.
      ism_template: [
        {
          index_patterns: sources.flatMap((src) => (src === 'claude' || src === 'otel' ? otelPatterns(prefix, src).map((p) => (p.endsWith('*') ? p : `${p}*`)) : [`${dataStreamName(prefix, src)}*`])),
          priority: 100,
        },
      ],
    },
  };
}

export interface BackingIndex {
  name: string;
  generation: number;
  createdMs: number;
}

/**
 * Backing indices whose data is older than the retention. An index stopped receiving writes when
 * the next generation was created, so that moment (not its own creation) starts its clock. The
 * write index is never deleted.
 */
export function expiredIndices(indices: BackingIndex[], nowMs: number, retentionMs: number): string[] {
  const sorted = [...indices].sort((a, b) => a.generation - b.generation);
  const out: string[] = [];
  for (let i = 0; i < sorted.length - 1; i++) {
    const next = sorted[i + 1]!;
    if (nowMs - next.createdMs > retentionMs) out.push(sorted[i]!.name);
  }
  return out;
}

/** `.ds-clawker-egress-000007` → 7. */
export function generationOf(indexName: string): number {
  const m = /-(\d+)$/.exec(indexName);
  if (!m) throw new Error(`backing index name without a generation suffix: ${indexName}`);
  return Number(m[1]);
}
