import { describe, expect, it } from 'vitest';
import { peerTables } from './peer-table.ts';

describe('peer tables', () => {
  it('renders nothing without peer figures', () => {
    expect(peerTables({ 'sink.docs_per_s': 1 })).toEqual([]);
  });

  it('puts each size of the kernel peers on one row, overheads with their share of the base', () => {
    const md = peerTables({
      'kernel.peers.n1000.none_ns': 10_000,
      'kernel.peers.n1000.sluice_overhead_ns': 500,
      'kernel.peers.n1000.iptables_overhead_ns': 1000,
      'kernel.peers.n1000.both_overhead_ns': 1600,
      'kernel.peers.n1000.iptables_ratio': 0.5,
      'kernel.iptables_ratio': 0.5,
    }).join('\n');
    expect(md).toContain('| 1,000 | 10,000 | 500 (5.0 %) | 1,000 (10.0 %) | 1,600 (16.0 %) | 0.500 |');
    expect(md).toContain('**0.500**');
  });

  it('shows a missing consumer as a dash, not as zero', () => {
    const md = peerTables({ 'sink.peers.sluice.docs_per_s': 20_000, 'sink.peers.sluice.cpu_s_per_million': 12.5 }).join('\n');
    expect(md).toMatch(/\| Sluice sink \(from JetStream\) \| 20,000 \| 12.50 \| – \|/);
    expect(md).toMatch(/\| OpenTelemetry Collector \(filelog →\) \| – \| – \| – \|/);
  });
});
