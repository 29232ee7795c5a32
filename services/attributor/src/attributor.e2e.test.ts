// The whole path with real connects: labelled containers (under a test scope with the real BPF
// programs attached) connect from inside; the kernel denies and records; the real bpf-reader
// publishes SLUICE_RAW; the attributor turns the records into events carrying the exact labels.
// DNS: a process in a registered test cgroup resolves a name through a DNS server of our own on
// 127.0.0.183 and connects; its event carries that name as dst_host, a cgroup that did not
// resolve it gets none for the same address, and the DNS answer is a DnsEvent on
// sluice.dns.<project>.<agent>.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsEvent, EgressEvent, encodeToken, nameHash } from '@sluice/contracts';
import { AttributorHarness, type Reader, type ServiceProcess, startReader, stopService, waitFor } from '@sluice/testkit';
import { dnsServer, type DnsServer } from '../../../test/kernel/dns-server.ts';
import { probe } from '../../../test/kernel/exec.ts';
import { listeners } from '../../../test/kernel/net.ts';
import { Sandbox } from '../../../test/kernel/sandbox.ts';

const h = new AttributorHarness();
const sb = new Sandbox('attr-e2e');
const state = mkdtempSync(join(tmpdir(), 'attr-e2e-reader-'));
let reader: Reader | undefined;
let attributor: ServiceProcess | undefined;
const net = listeners();
let dns: DnsServer | undefined;
const RESOLVER = '127.0.0.183';
const TARGET = '127.0.0.185';
const NAME = `api-${h.run}.attr-e2e.test`;

const labelSets = [
  { agent: 'e2e.agent.one', project: `e2e.proj ${h.run}` },
  { agent: 'агент ✓ two', project: `e2e ✓ ${h.run}` },
];

beforeAll(async () => {
  await sb.setup(); // no policy applied: the default denies every connect (fail closed)
  await h.setup();
  reader = await startReader({ NATS_URL: h.natsUrl, NODE_NAME: h.node, SLUICE_BPF_PIN: sb.pin, READER_STATE_DIR: state, READER_BATCH_MS: '20' });
  attributor = h.startAttributor();
  await waitFor('attributor ready', async () => ((await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
});

afterAll(async () => {
  if (attributor) await stopService(attributor, 8000);
  if (reader) await reader.stop();
  await dns?.close();
  await net.close();
  await h.teardown(); // containers first: their cgroups live under the sandbox scope
  await sb.teardown();
  rmSync(state, { recursive: true, force: true });
});

describe('attributor end to end (real kernel, reader, Docker)', () => {
  it('connects made inside labelled containers become DENIED events with their exact labels and container id', async () => {
    const scope = sb.scope.slice(h.mount.length);
    const cs = await Promise.all(
      labelSets.map((l) => h.runContainer({ 'dev.clawker.agent': l.agent, 'dev.clawker.project': l.project }, { cgroupParent: scope })),
    );
    for (const c of cs) {
      // busybox nc: a plain TCP connect (the static busybox's wget crashes in this image).
      const r = await h.exec(c.id, ['nc', '-w', '2', '198.51.100.7', '8080']);
      expect(r.output).toMatch(/not permitted|refused|timed out|^$/i);
    }
    const events = await waitFor(
      'one DENIED event per container',
      async () => {
        const evs = h.events.map((l) => EgressEvent.safeParse(l.doc)).flatMap((r) => (r.success ? [r.data] : []));
        const per = cs.map((c) => evs.filter((e) => e.container_id === c.id && e.dst_ip === '198.51.100.7'));
        return per.every((p) => p.length > 0) ? per : undefined;
      },
      30_000,
    ).catch(async (err: unknown) => {
      console.error('events seen:', JSON.stringify(h.events.slice(0, 5), null, 1));
      console.error((await reader!.metrics()).split('\n').filter((l) => /^sluice_(events|reader)/.test(l)).join('\n'));
      console.error(attributor!.stderr().slice(-3000));
      console.error(reader!.proc.stderr().slice(-2000));
      throw err;
    });
    events.forEach((evs, i) => {
      for (const e of evs) {
        expect(e).toMatchObject({
          attribution: 'docker',
          agent: labelSets[i]!.agent,
          project: labelSets[i]!.project,
          container_id: cs[i]!.id,
          cgroup_id: cs[i]!.cgroupId.toString(),
          verdict: 'DENIED',
          reason: 'default',
          dst_port: 8080,
          comm: 'nc',
        });
        expect(Math.abs(Date.parse(e.time) - Date.now())).toBeLessThan(120_000); // wall time from the boot clock
      }
    });
  });
});

describe('DNS names in attributed events (real kernel DNS parser, reader, attributor)', () => {
  it('names the connect of the cgroup that resolved, not of one that did not; the answer lands on sluice.dns.<project>.<agent>', async () => {
    dns = await dnsServer(RESOLVER);
    dns.zone.set(NAME, [{ name: NAME, type: 'A', ttl: 300, addr: TARGET }]);
    const port = await net.tcp(TARGET);
    const resolved = sb.cgroup('dns-resolves');
    const direct = sb.cgroup('dns-direct');
    await sb.apply([
      'policy 30',
      `resolver 30 301 ${RESOLVER}`,
      `host 30 302 ${NAME} * tcp`,
      `cgroup ${resolved.path} 30 enforce`,
      `cgroup ${direct.path} 30 enforce`,
    ]);
    const ident = { agent: `dns agent ✓ ${h.run}`, project: `dns.proj.${h.run}` };
    for (const cg of [resolved, direct]) {
      const r = await h.register({ cgroup_path: cg.path.slice(h.mount.length), ...ident });
      expect(r).toMatchObject({ ok: true });
    }

    const [q, c] = await probe(resolved.path, 'resolve', RESOLVER, NAME, 'a', 'connect', TARGET, port);
    expect(q).toMatchObject({ op: 'resolve', ok: true });
    expect(c).toMatchObject({ ok: true }); // allowed by the host rule: the kernel knew the name
    const [d] = await probe(direct.path, 'connect', TARGET, port);
    expect(d).toMatchObject({ ok: false, error: 'EPERM' }); // same address, never resolved here

    const seen = await waitFor(
      'the named event, the unnamed one and the DNS event',
      async () => {
        const egress = h.events.flatMap((l) => {
          const r = EgressEvent.safeParse(l.doc);
          return r.success && r.data.dst_ip === TARGET ? [{ subject: l.subject, e: r.data }] : [];
        });
        const named = egress.find((x) => x.e.cgroup_id === resolved.id.toString() && x.e.socket_cookie === c!.cookie);
        const unnamed = egress.find((x) => x.e.cgroup_id === direct.id.toString() && x.e.socket_cookie === d!.cookie);
        const dnsEv = h.events.flatMap((l) => {
          const r = l.subject.startsWith('sluice.dns.') ? DnsEvent.safeParse(l.doc) : undefined;
          return r?.success && r.data.qname === NAME ? [{ subject: l.subject, e: r.data }] : [];
        });
        return named && unnamed && dnsEv.length > 0 ? { named, unnamed, dnsEv } : undefined;
      },
      30_000,
    ).catch(async (err: unknown) => {
      console.error('events seen:', JSON.stringify(h.events.slice(-6), null, 1));
      console.error(attributor!.stderr().slice(-3000));
      throw err;
    });

    const tokens = `${encodeToken(ident.project)}.${encodeToken(ident.agent)}`;
    expect(seen.named.subject).toBe(`sluice.events.${tokens}.ALLOWED`);
    expect(seen.named.e).toMatchObject({
      attribution: 'registered',
      ...ident,
      kind: 'tcp_close',
      verdict: 'ALLOWED',
      reason: 'host',
      rule_id: 302,
      dst_host: NAME,
      domain_hash: nameHash(NAME).toString(),
    });
    expect(seen.named.e.dst_host_stale).toBeUndefined();
    // Flow fields of the close record (exact sizes are the kernel tests' business).
    expect(seen.named.e.bytes_out).toBeTypeOf('number');
    expect(seen.named.e.bytes_in).toBeTypeOf('number');
    expect(seen.named.e.duration_ms).toBeGreaterThanOrEqual(0);
    expect(seen.unnamed.e).toMatchObject({ attribution: 'registered', verdict: 'DENIED', reason: 'default', kind: 'connect' });
    expect(seen.unnamed.e.dst_host).toBeUndefined();
    expect(seen.unnamed.e.domain_hash).toBeUndefined();
    expect(seen.dnsEv).toHaveLength(1);
    expect(seen.dnsEv[0]!.subject).toBe(`sluice.dns.${tokens}`);
    expect(seen.dnsEv[0]!.e).toMatchObject({
      attribution: 'registered',
      ...ident,
      cgroup_id: resolved.id.toString(),
      qname: NAME,
      qtype: 'A',
      rcode: 'NOERROR',
      answers: [TARGET],
      ttl: 300,
      resolver_ip: RESOLVER,
    });
  });
});
