import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './paths.ts';
import { SERVICE_NAMES, serviceNodeArgs } from './services.ts';

describe('serviceNodeArgs', () => {
  it('is what the compose deployment starts each service with (the image runs node with its command)', () => {
    const compose = parse(readFileSync(join(REPO_ROOT, 'infra', 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command?: string[] }> };
    for (const name of SERVICE_NAMES) {
      expect(compose.services[name]?.command, name).toEqual([...serviceNodeArgs(name), `services/${name}/dist/main.js`]);
    }
  });
});
