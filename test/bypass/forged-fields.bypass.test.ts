// An agent forging fields of its own security events. The process name (comm) is the agent's to
// choose: it is the basename of whatever file it executes. An agent that names its binary
// `","verdict":"AL` or puts a newline and a second JSON object in it would, through a writer or a
// parser that takes the bytes for JSON structure, turn its DENIED record into an ALLOWED one, or
// add a record of its own. The sink now reads egress lines byte by byte (packages/store
// line-scan.ts) instead of JSON.parse: this runs the attacker as an agent runs (uid 65534, no
// capabilities, inside the managed scope) through the real kernel, reader and attributor, and
// hands the published bytes to the sink's parser both ways. It fails if any document says
// anything but DENIED, carries a name other than the kernel's, or if the two parsers disagree.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressEvent } from '@sluice/contracts';
import { isScanned, parseBatch, useEgressScan } from '@sluice/store';
import { AttributorHarness, type Reader, type ServiceProcess, startReader, stopService, waitFor } from '@sluice/testkit';
import { PROBE } from '../kernel/exec.ts';
import { Sandbox } from '../kernel/sandbox.ts';
import { exec, inCgroup, setprivArgv } from './agent.ts';

const h = new AttributorHarness();
const sb = new Sandbox('forged-fields');
const dir = mkdtempSync(join(tmpdir(), 'forged-fields-'));
const state = mkdtempSync(join(tmpdir(), 'forged-fields-reader-'));
let reader: Reader | undefined;
let attributor: ServiceProcess | undefined;
const DST = '198.51.100.61';

// Names of at most 15 bytes (the kernel keeps TASK_COMM_LEN - 1): the forgeries an agent would try.
const NAMES: Array<[string, Buffer]> = [
  ['quote and field', Buffer.from('","verdict":"AL')],
  ['newline and a second object', Buffer.from('x"}\n{"id":"y')],
  ['backslash escapes', Buffer.from('a\\","b":"\\u0')],
  ['line separator', Buffer.from('a\u2028"b')],
  ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x22, 0x2c, 0x78, 0xc3, 0x28])],
  // The control: a plain name the scanner reads itself (the forged ones all hold escapes, which
  // it leaves to JSON.parse), so the run shows the byte path was in play.
  ['plain name', Buffer.from('plain-agent')],
];

beforeAll(async () => {
  chmodSync(dir, 0o755); // the agent (uid 65534) executes its binaries from here
  await sb.setup(); // no policy: the managed scope denies every connect
  await h.setup();
  reader = await startReader({ NATS_URL: h.natsUrl, NODE_NAME: h.node, SLUICE_BPF_PIN: sb.pin, READER_STATE_DIR: state, READER_BATCH_MS: '20' });
  attributor = h.startAttributor();
  await waitFor('attributor ready', async () => ((await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
});

afterAll(async () => {
  useEgressScan(true);
  if (attributor) await stopService(attributor, 8000);
  if (reader) await reader.stop();
  await h.teardown();
  await sb.teardown();
  rmSync(dir, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

describe('an agent forging its own event fields through its process name', () => {
  it('every record stays DENIED with the kernel’s name, one document per record, the same by both sink parsers', async () => {
    const agents = NAMES.map(([label], i) => ({ label, cg: sb.cgroup(`agent-${i}`), port: 8100 + i }));
    for (const a of agents) {
      const r = await h.register({ cgroup_path: a.cg.path.slice(h.mount.length), agent: `forger ${a.label}`, project: `forged.${h.run}` });
      expect(r).toMatchObject({ ok: true });
    }
    for (const [i, [, name]] of NAMES.entries()) {
      // Each binary alone in a directory of its own and run through a glob, so its name reaches
      // execve as raw bytes (an argv string would be re-encoded as UTF-8).
      const sub = join(dir, `a${i}`);
      mkdirSync(sub, { mode: 0o755 });
      const bin = Buffer.concat([Buffer.from(`${sub}/`), name]);
      copyFileSync(PROBE, bin as unknown as string); // fs takes a Buffer path: the name's raw bytes
      chmodSync(bin as unknown as string, 0o755);
      const argv = inCgroup(agents[i]!.cg.path, [...setprivArgv('none'), '/bin/sh', '-c', 'exec "$0"/* "$@"', sub, 'connect', DST, String(agents[i]!.port)]);
      const [op] = await exec(argv);
      expect(op).toMatchObject({ op: 'connect', ok: false, error: 'EPERM' }); // the kernel denied it
    }
    const lines = await waitFor(
      'one event per agent',
      async () => {
        const mine = h.events.filter((l) => l.doc.dst_ip === DST);
        return agents.every((a) => mine.some((l) => l.doc.cgroup_id === a.cg.id.toString())) ? mine : undefined;
      },
      30_000,
    );
    // The attributor wrote each name as the kernel gave it, inside its own JSON string.
    for (const l of lines) {
      const e = EgressEvent.parse(l.doc);
      const i = agents.findIndex((a) => a.cg.id.toString() === e.cgroup_id);
      expect(e.verdict).toBe('DENIED');
      expect(e.agent).toBe(`forger ${agents[i]!.label}`);
      const name = NAMES[i]![1];
      if (name.every((b) => b < 0x80)) expect(e.comm).toBe(name.toString('latin1'));
    }
    // The sink's parser on the published bytes, byte scanner on and off: same documents, and each
    // says what the event says.
    const messages = [...new Set(lines.map((l) => l.message))];
    const scannedIds = new Set<string>();
    for (const m of messages) {
      useEgressScan(true);
      const scanned = parseBatch('egress', m, '2026-01-01T00:00:00.000Z');
      useEgressScan(false);
      const parsed = parseBatch('egress', m, '2026-01-01T00:00:00.000Z');
      useEgressScan(true);
      const lineCount = Buffer.from(m).toString('latin1').split('\n').filter((x) => x.trim() !== '').length;
      expect(scanned.rejects).toEqual([]);
      expect(scanned.docs).toHaveLength(lineCount); // no record split in two, none added
      expect(scanned.docs.map((d) => d.json)).toEqual(parsed.docs.map((d) => d.json));
      for (const d of scanned.docs) {
        if (isScanned(d)) scannedIds.add(d.id);
        const doc = JSON.parse(d.json) as { attributes: Record<string, unknown>; body: string; severity: { text: string } };
        const ev = lines.find((l) => l.doc.id === d.id)?.doc;
        if (ev === undefined) continue; // another writer's line in a shared message
        expect(doc.attributes).toEqual(ev);
        expect(doc.attributes.verdict).toBe('DENIED');
        expect(doc.severity.text).toBe('WARN');
        expect(doc.body.startsWith('DENIED ')).toBe(true);
      }
    }
    const control = agents.at(-1)!.cg.id.toString();
    expect(lines.filter((l) => l.doc.cgroup_id === control).every((l) => scannedIds.has(l.doc.id))).toBe(true);
  });
});
