// Start-up installation of what the sink owns in OpenSearch: index templates (versioned: only an
// older one is replaced), the data streams themselves (so mappings exist before the first
// document), and the ISM policy when the plugin is there. Safe to run from every replica at once.
import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from '@sluice/runtime';
import type { SourceName } from './document.ts';
import { ismPolicy, policyDescription, policyId, type LifecycleSettings } from './ism.ts';
import { dataStreamName, indexTemplate, OTEL_FAMILIES, otelIndexTemplate, SOURCES, TEMPLATE_VERSION, templateName, type OtelFamily } from './templates.ts';

type Err = { meta?: { statusCode?: number; body?: { error?: { type?: string } } } };
const status = (err: unknown): number | undefined => (err as Err).meta?.statusCode;
const errorType = (err: unknown): string | undefined => (err as Err).meta?.body?.error?.type;

export const ISM_PLUGIN = 'opensearch-index-management';

export async function hasIsmPlugin(client: Client): Promise<boolean> {
  const res = await client.cat.plugins({ format: 'json' });
  return (res.body as Array<{ component?: string }>).some((p) => p.component === ISM_PLUGIN);
}

export interface TemplateResult {
  source: SourceName | OtelFamily;
  action: 'created' | 'upgraded' | 'current' | 'newer-installed';
  installedVersion?: number;
}

export async function ensureTemplates(client: Client, prefix: string, log: Logger): Promise<TemplateResult[]> {
  const results: TemplateResult[] = [];
  const all: Array<{ source: SourceName | OtelFamily; body: Record<string, unknown>; stream?: string }> = [
    ...SOURCES.map((s) => ({ source: s, body: indexTemplate(prefix, s), stream: dataStreamName(prefix, s) })),
    // `claude` exists from the start (its mapping in place before Claude Code's first event);
    // `otel-<service>` streams are created by their first document, from the template.
    ...OTEL_FAMILIES.map((f) => ({ source: f, body: otelIndexTemplate(prefix, f), ...(f === 'claude' ? { stream: dataStreamName(prefix, f) } : {}) })),
  ];
  for (const { source, body, stream } of all) {
    const name = templateName(prefix, source);
    let installed: number | undefined;
    try {
      const res = await client.indices.getIndexTemplate({ name });
      const found = (res.body as { index_templates?: Array<{ index_template?: { version?: number } }> }).index_templates?.[0];
      installed = found?.index_template?.version ?? 0;
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    if (installed !== undefined && installed >= TEMPLATE_VERSION) {
      const action = installed > TEMPLATE_VERSION ? 'newer-installed' : 'current';
      if (action === 'newer-installed') log.warn({ name, installed, ours: TEMPLATE_VERSION }, 'a newer sink installed this template; leaving it');
      results.push({ source, action, installedVersion: installed });
    } else {
      await client.indices.putIndexTemplate({ name, body: body as never });
      const action = installed === undefined ? 'created' : 'upgraded';
      log.info({ name, version: TEMPLATE_VERSION, previous: installed }, `index template ${action}`);
      results.push({ source, action, ...(installed !== undefined ? { installedVersion: installed } : {}) });
    }
    if (stream === undefined) continue;
    const ds = stream;
    const existed = await ensureDataStream(client, ds);
    // A new mapping applies to new backing indices only: roll the stream so it takes effect now.
    if (existed && results.at(-1)!.action === 'upgraded') {
      await client.indices.rollover({ alias: ds });
      log.info({ dataStream: ds }, 'rolled over to apply the upgraded template');
    }
  }
  return results;
}

/** Create the data stream if missing; true when it already existed. */
async function ensureDataStream(client: Client, name: string): Promise<boolean> {
  try {
    await client.indices.createDataStream({ name });
    return false;
  } catch (err) {
    if (errorType(err) === 'resource_already_exists_exception') return true;
    throw err;
  }
}

export async function ensureIsmPolicy(
  client: Client,
  prefix: string,
  settings: LifecycleSettings,
  log: Logger,
): Promise<'created' | 'updated' | 'current'> {
  const id = policyId(prefix);
  const path = `/_plugins/_ism/policies/${encodeURIComponent(id)}`;
  const body = ismPolicy(prefix, [...SOURCES, ...OTEL_FAMILIES], settings);
  let existing: { _seq_no: number; _primary_term: number; policy?: { description?: string } } | undefined;
  try {
    existing = (await client.transport.request({ method: 'GET', path })).body as typeof existing;
  } catch (err) {
    if (status(err) !== 404) throw err;
  }
  if (existing?.policy?.description === policyDescription(settings)) return 'current';
  const querystring = existing ? { if_seq_no: existing._seq_no, if_primary_term: existing._primary_term } : {};
  try {
    await client.transport.request({ method: 'PUT', path, querystring, body });
  } catch (err) {
    // Another replica won the race with the same policy: fine.
    if (status(err) === 409) return 'current';
    throw err;
  }
  log.info({ policy: id }, existing ? 'ISM policy updated' : 'ISM policy created');
  return existing ? 'updated' : 'created';
}
