// Generates infra/opensearch/{templates,ism}/*.json from the store code the sink installs them with, for
// operators who manage OpenSearch by hand. The store's templates.test.ts fails when the committed
// files drift.
//   tsx packages/testkit/src/opensearch-infra.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ismPolicy, indexTemplate, OTEL_FAMILIES, otelIndexTemplate, SOURCES, templateName } from '@sluice/store';
import { REPO_ROOT } from './repo-paths.ts';

export const INFRA_DIR = join(REPO_ROOT, 'infra', 'opensearch');
const DEFAULT_PREFIX = 'clawker-';
const DEFAULT_LIFECYCLE = { rolloverMaxAge: '1d', rolloverMaxSize: '30gb', retention: '30d' };

/** path (relative to infra/opensearch) → file content. */
export function infraFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const source of SOURCES) {
    files.set(`templates/${templateName(DEFAULT_PREFIX, source)}.json`, JSON.stringify(indexTemplate(DEFAULT_PREFIX, source), null, 2) + '\n');
  }
  for (const family of OTEL_FAMILIES) {
    files.set(`templates/${templateName(DEFAULT_PREFIX, family)}.json`, JSON.stringify(otelIndexTemplate(DEFAULT_PREFIX, family), null, 2) + '\n');
  }
  files.set('ism/clawker-sluice-events.json', JSON.stringify(ismPolicy(DEFAULT_PREFIX, [...SOURCES, ...OTEL_FAMILIES], DEFAULT_LIFECYCLE), null, 2) + '\n');
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [rel, content] of infraFiles()) {
    const path = join(INFRA_DIR, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    process.stdout.write(`wrote ${path}\n`);
  }
}
