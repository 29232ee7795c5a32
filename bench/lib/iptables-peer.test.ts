import { describe, expect, it } from 'vitest';
import { hookRules, iptablesRestoreText, ipsetRestoreText, peerNames } from './iptables-peer.ts';

const spec = {
  tag: '42',
  server: { addr: '127.0.0.2', port: 20000 },
  cidrs: ['10.0.0.0/24', '10.0.1.0/24'],
  hostAddrs: ['198.18.0.1'],
  cgroups: ['/bench/a', '/bench/b'],
};

describe('iptables peer rules', () => {
  it('holds the whole allowlist in one private hash:net,port set', () => {
    expect(ipsetRestoreText(spec).trim().split('\n')).toEqual([
      'create slp-42 hash:net,port family inet maxelem 65536',
      'add slp-42 127.0.0.2/32,tcp:20000',
      'add slp-42 10.0.0.0/24,tcp:443',
      'add slp-42 10.0.1.0/24,tcp:443',
      'add slp-42 198.18.0.1/32,tcp:443',
    ]);
  });

  it('accepts established traffic first, then one jump per cgroup in order, and rejects what the set lacks', () => {
    const lines = iptablesRestoreText(spec).trim().split('\n');
    expect(lines.slice(0, 4)).toEqual(['*filter', ':SLP-42 - [0:0]', ':SLP-42-POL - [0:0]', '-A SLP-42 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT']);
    expect(lines.filter((l) => l.includes('-m cgroup'))).toEqual([
      '-A SLP-42 -m cgroup --path "/bench/a" -j SLP-42-POL',
      '-A SLP-42 -m cgroup --path "/bench/b" -j SLP-42-POL',
    ]);
    expect(lines.at(-1)).toBe('COMMIT');
    // Only private chains: restoring with --noflush must never name a chain of the machine's.
    expect(lines.filter((l) => l.startsWith('-A ') || l.startsWith(':')).every((l) => /^(-A |:)SLP-42/.test(l))).toBe(true);
  });

  it('hooks only the bench server traffic, both directions', () => {
    expect(hookRules(spec).map((r) => r.join(' '))).toEqual([
      '-d 127.0.0.2/32 -p tcp --dport 20000 -j SLP-42',
      '-s 127.0.0.2/32 -p tcp --sport 20000 -j SLP-42',
    ]);
  });

  it('refuses a cgroup path it cannot quote', () => {
    expect(() => iptablesRestoreText({ ...spec, cgroups: ['/a b'] })).toThrow(/cannot be quoted/);
  });

  it('fits chain and set names in the kernel limits for any pid', () => {
    const n = peerNames('4194304');
    expect(n.policy.length).toBeLessThanOrEqual(28);
    expect(n.set.length).toBeLessThanOrEqual(31);
  });
});
