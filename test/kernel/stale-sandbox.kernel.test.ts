// A run killed before its teardown (SIGKILL, an out-of-time CI job) leaves its pin dir, its scope
// with programs attached and its stream helper behind; the next sandbox's setup removes them.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@sluice/testkit';
import { reapStaleSandboxes, Sandbox } from './sandbox.ts';
import { processesUsingPin } from './stale-sandboxes.ts';

const sandboxTs = fileURLToPath(new URL('./sandbox.ts', import.meta.url));
const victimScript = `
  const { Sandbox } = await import(${JSON.stringify(sandboxTs)});
  const sb = new Sandbox('stale-victim');
  await sb.setup();
  sb.cgroup('agent');
  sb.stream(100);
  process.stdout.write(JSON.stringify({ pin: sb.pin, scope: sb.scope }) + '\\n');
  setInterval(() => {}, 1000);
`;
const sb = new Sandbox('stale-reaper');

afterAll(() => sb.teardown());

describe('stale sandboxes', () => {
  it('a killed run leaves nothing once the next sandbox is set up', async () => {
    const victim = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', victimScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    victim.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const { pin, scope } = await waitFor('the victim sandbox', async () => (out.includes('\n') ? (JSON.parse(out) as { pin: string; scope: string }) : undefined), 60_000);
    expect(existsSync(pin) && existsSync(`${scope}/agent`)).toBe(true);
    await waitFor('its stream helper', async () => (processesUsingPin(pin).length > 0 ? true : undefined), 10_000);
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    expect(existsSync(pin)).toBe(true); // no teardown ran: this is what the reaper is for

    await sb.setup(); // reaps
    expect(existsSync(pin)).toBe(false);
    expect(existsSync(scope)).toBe(false);
    expect(processesUsingPin(pin)).toEqual([]);
    await reapStaleSandboxes(); // nothing left: a no-op
  });
});
