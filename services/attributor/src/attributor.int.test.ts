// The attributor as operators run it (child process), against real Docker, NATS and Redis.
// Raw batches carry the real cgroup ids of real containers (the kernel/reader side is exercised
// by its own tests); what comes out on SLUICE_EVENTS must carry the exact label values.
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerLifecycle, DnsEvent, EgressEvent, parseEventSubject } from '@sluice/contracts';
import { AttributorHarness, metricValue, type ServiceProcess, stopService, waitFor } from '@sluice/testkit';

const AGENT = 'dev.clawker.agent';
const PROJECT = 'dev.clawker.project';
const h = new AttributorHarness();
let attributor: ServiceProcess;

const labelSets = [
  { agent: 'agent.one', project: `proj.with.dots-${h.run}` },
  { agent: 'agent two with spaces', project: `my project ${h.run}` },
  { agent: 'агент 🚀 ✓', project: `プロジェクト-${h.run}` },
];

beforeAll(async () => {
  await h.setup();
  attributor = h.startAttributor();
  await waitFor('attributor ready', async () => ((await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
});

afterAll(async () => {
  if (attributor) {
    const r = await stopService(attributor, 8000);
    if (r.killed || r.code !== 0) console.error(attributor.stderr().slice(-3000));
  }
  await h.teardown();
});

describe('attributor (real Docker, NATS, Redis)', () => {
  it('gives every event of labelled containers their exact agent, project and container_id; unknown cgroups stay, as unknown', async () => {
    const cs = await Promise.all(labelSets.map((l) => h.runContainer({ [AGENT]: l.agent, [PROJECT]: l.project })));
    const ids = await h.publishRaw([
      ...cs.map((c) => ({ cgroupId: c.cgroupId, verdict: 2 as const })),
      ...cs.map((c) => ({ cgroupId: c.cgroupId, verdict: 1 as const })),
      { kind: 'dns', cgroupId: cs[2]!.cgroupId, qname: 'api.github.com' },
      { cgroupId: 987_654_321_987n, verdict: 2 },
    ]);
    await waitFor('all events', async () => (ids.every((id) => h.byId().has(id)) ? true : undefined));
    const got = h.byId();
    cs.forEach((c, i) => {
      for (const id of [ids[i]!, ids[i + 3]!]) {
        const [line] = got.get(id)!;
        const ev = EgressEvent.parse(line!.doc);
        expect(ev).toMatchObject({ attribution: 'docker', agent: labelSets[i]!.agent, project: labelSets[i]!.project, container_id: c.id });
        expect(ev.cgroup_id).toBe(c.cgroupId.toString());
        expect(parseEventSubject(line!.subject)).toEqual({ agent: labelSets[i]!.agent, project: labelSets[i]!.project, verdict: ev.verdict });
      }
    });
    const dns = DnsEvent.parse(got.get(ids[6]!)![0]!.doc);
    expect(dns).toMatchObject({ agent: labelSets[2]!.agent, qname: 'api.github.com', container_id: cs[2]!.id });
    const unknown = got.get(ids[7]!)![0]!;
    expect(EgressEvent.parse(unknown.doc).attribution).toBe('unknown');
    expect(unknown.doc.agent).toBeUndefined();
    expect(unknown.subject).toBe('sluice.events.%.%.DENIED');
    for (const [id, lines] of got) expect(lines, id).toHaveLength(1);
    const m = await h.metrics();
    expect(metricValue(m, 'sluice_attributor_records_total', { attribution: 'unknown' })).toBeGreaterThanOrEqual(1);
  });

  it('publishes lifecycle messages with the raw-socket flag, and an audit event for containers that keep CAP_NET_RAW', async () => {
    const keeps = await h.runContainer({ [AGENT]: 'raw-keeper', [PROJECT]: `caps-${h.run}` });
    const drops = await h.runContainer({ [AGENT]: 'raw-dropper', [PROJECT]: `caps-${h.run}` }, { capDrop: ['NET_RAW'] });
    const starts = await waitFor('start messages', async () => {
      const s = h.control.filter((l) => l.subject === 'sluice.containers.start').map((l) => ContainerLifecycle.parse(l.doc));
      const k = s.find((x) => x.container_id === keeps.id);
      const d = s.find((x) => x.container_id === drops.id);
      return k && d ? { k, d } : undefined;
    });
    expect(starts.k).toMatchObject({ can_bypass_raw: true, agent: 'raw-keeper', cgroup_id: keeps.cgroupId.toString(), ips: [keeps.ip] });
    expect(starts.d.can_bypass_raw).toBe(false);
    const audits = await waitFor('audit', async () => {
      const a = h.control.filter((l) => l.subject === 'sluice.audit.raw_socket_capable');
      return a.some((l) => (l.doc.subject as { container_id?: string }).container_id === keeps.id) ? a : undefined;
    });
    expect(audits.some((l) => (l.doc.subject as { container_id?: string }).container_id === drops.id)).toBe(false);
  });

  it('die/destroy invalidates both indexes after the grace; a later container inherits nothing', async () => {
    const a = await h.runContainer({ [AGENT]: 'short-lived', [PROJECT]: `gone-${h.run}` });
    await waitFor('indexed by cgroup and ip', async () => {
      const byCg = await h.request('lookup', { cgroup_id: a.cgroupId.toString() });
      const byIp = await h.request('lookup', { ip: a.ip });
      return byCg.identity?.container_id === a.id && byIp.identity?.container_id === a.id ? true : undefined;
    });
    const inFlight = BigInt(Date.now()) * 1_000_000n; // stamped while it ran, processed after it died
    await h.removeContainer(a.id);
    await waitFor('both indexes empty', async () => {
      const byCg = await h.request('lookup', { cgroup_id: a.cgroupId.toString() });
      const byIp = await h.request('lookup', { ip: a.ip });
      return byCg.ok && byIp.ok && byCg.identity === null && byIp.identity === null ? true : undefined;
    });
    const b = await h.runContainer({ [AGENT]: 'successor', [PROJECT]: `new-${h.run}` });
    const ids = await h.publishRaw([
      { cgroupId: a.cgroupId, tsNs: inFlight }, // late record of the dead one: still its own
      { cgroupId: a.cgroupId }, // now: nobody's
      { cgroupId: b.cgroupId },
    ]);
    await waitFor('events', async () => (ids.every((id) => h.byId().has(id)) ? true : undefined));
    const [late, after, succ] = ids.map((id) => EgressEvent.parse(h.byId().get(id)![0]!.doc));
    expect(late).toMatchObject({ attribution: 'docker', agent: 'short-lived', container_id: a.id });
    expect(after!.attribution).toBe('unknown');
    expect(after!.agent).toBeUndefined();
    expect(succ).toMatchObject({ agent: 'successor', container_id: b.id });
    // The successor got the dead one's IP back from Docker's pool? Then the IP index names it only.
    const byIp = await h.request('lookup', { ip: b.ip });
    expect(byIp.identity?.container_id).toBe(b.id);
    expect((await h.request('lookup', { ip: a.ip })).identity?.container_id ?? b.id).toBe(b.id);
  });

  it('attributes a registered non-Docker cgroup as registered, and refuses bad registrations clearly', async () => {
    const path = `/sluice-it-${h.run}`;
    await mkdir(join(h.mount, path));
    try {
      const reg = await h.register({ cgroup_path: path, agent: 'cli agent', project: `cli.${h.run}` });
      expect(reg.ok).toBe(true);
      const cg = BigInt(reg.identity!.cgroup_id as string);
      const ids = await h.publishRaw([{ cgroupId: cg }]);
      await waitFor('event', async () => h.byId().get(ids[0]!)?.[0]);
      expect(EgressEvent.parse(h.byId().get(ids[0]!)![0]!.doc)).toMatchObject({ attribution: 'registered', agent: 'cli agent', project: `cli.${h.run}` });
      // A restarted attributor warms from Redis: the registration (known nowhere else) survives.
      await stopService(attributor, 8000);
      attributor = h.startAttributor();
      await waitFor('restarted', async () => ((await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
      const again = await h.publishRaw([{ cgroupId: cg }]);
      await waitFor('event after restart', async () => h.byId().get(again[0]!)?.[0]);
      expect(EgressEvent.parse(h.byId().get(again[0]!)![0]!.doc)).toMatchObject({ attribution: 'registered', agent: 'cli agent' });
      const bad = await h.register({ agent: 'x' });
      expect(bad).toMatchObject({ ok: false });
      expect(bad.error).toMatch(/cgroup_id or cgroup_path is required/);
      const missing = await h.register({ cgroup_path: '/no/such/cgroup' });
      expect(missing.error).toMatch(/cgroup_path "\/no\/such\/cgroup"/);
    } finally {
      await rmdir(join(h.mount, path));
    }
  });
});
