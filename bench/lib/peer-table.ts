// The side-by-side tables of Sluice and its peers in bench/results/latest.md, rendered from the
// flat figures alone (so a partial `pnpm bench peers-sink` keeps the other tables from latest.json).
// A peer whose figures are missing gets no table; its area's notes say why.

type Figures = Record<string, number>;

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? '–' : digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);

function kernelTable(f: Figures): string[] {
  const sizes = Object.keys(f)
    .map((k) => /^kernel\.peers\.n(\d+)\.none_ns$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (sizes.length === 0) return [];
  const pct = (n: number, s: string) => {
    const o = f[`kernel.peers.n${n}.${s}_overhead_ns`];
    const base = f[`kernel.peers.n${n}.none_ns`];
    return o === undefined || !base ? '–' : `${fmt(o)} (${((o / base) * 100).toFixed(1)} %)`;
  };
  return [
    '### Kernel: allowed loopback connect() from a managed cgroup, Sluice vs iptables + ipset',
    '',
    'N = CIDR rules = host rules = managed cgroups. Overheads are ns per connect over the unfiltered cgroup, same rounds.',
    '',
    '| N | no filter, ns/connect | Sluice overhead, ns | iptables + ipset overhead, ns | both, ns | Sluice / iptables |',
    '|---:|---:|---:|---:|---:|---:|',
    ...sizes.map(
      (n) =>
        `| ${fmt(n)} | ${fmt(f[`kernel.peers.n${n}.none_ns`])} | ${pct(n, 'sluice')} | ${pct(n, 'iptables')} | ${pct(n, 'both')} | ${fmt(f[`kernel.peers.n${n}.iptables_ratio`], 3)} |`,
    ),
    '',
    `\`kernel.iptables_ratio\` (N = 1,000; goal ≤ 1.0): **${fmt(f['kernel.iptables_ratio'], 3)}**`,
    '',
  ];
}

function sinkTable(f: Figures): string[] {
  const rows: Array<[string, string]> = [
    ['Sluice sink (from JetStream)', 'sink.peers.sluice'],
    ['OpenTelemetry Collector (filelog →)', 'sink.peers.otelcol'],
    ['plain `_bulk` loader', 'sink.peers.bulk'],
  ];
  if (!rows.some(([, k]) => f[`${k}.docs_per_s`] !== undefined)) return [];
  return [
    '### Sink: the same egress events into the same OpenSearch',
    '',
    '| consumer | docs/s | CPU-s per million docs | docs per CPU-s |',
    '|---|---:|---:|---:|',
    ...rows.map(
      ([name, k]) =>
        `| ${name} | ${fmt(f[`${k}.docs_per_s`])} | ${fmt(f[`${k}.cpu_s_per_million`], 2)} | ${fmt(f[`${k}.docs_per_cpu_s`])} |`,
    ),
    '',
    `\`sink.otelcol_ratio\` (docs per CPU-s, Sluice / otelcol; goal ≥ 1.5): **${fmt(f['sink.otelcol_ratio'], 3)}** · docs/s Sluice / plain loader in these rounds: ${fmt(f['sink.peers.bulk_ratio'], 3)} (\`sink.bulk_ratio\` from bench/sink.ts, goal ≥ 0.9: ${fmt(f['sink.bulk_ratio'], 3)})`,
    '',
  ];
}

const COVERAGE: Array<[string, string]> = [
  ['plain TCP to the allowed host (client not proxy-aware)', 'allowed_tcp'],
  ['TCP to a port not on the list, proxy-aware client', 'proxied_denied_tcp'],
  ['TCP to a port not on the list, plain client', 'denied_tcp'],
  ['UDP to a port not on the list', 'udp'],
  ['raw socket (ICMP)', 'raw_socket'],
  ['DNS query to a resolver not on the list', 'dns'],
];

function runTable(f: Figures): string[] {
  if (f['run.peers.sluice.startup_ms'] === undefined && f['run.peers.srt.startup_ms'] === undefined) return [];
  const row = (what: string, k: string, digits = 0) =>
    `| ${what} | ${fmt(f[`run.peers.sluice.${k}`], digits)} | ${fmt(f[`run.peers.srt.${k}`], digits)} |`;
  // 1 = let through, 0 = stopped; records: 1 = the attempt is recorded with its destination.
  const cov = (tool: string, k: string) => {
    const passed = f[`run.peers.${tool}.coverage.${k}.passed`];
    const recorded = f[`run.peers.${tool}.coverage.${k}.recorded`];
    if (passed === undefined) return '–';
    return `${passed ? 'let through' : 'stopped'}, ${recorded ? 'recorded' : 'not recorded'}`;
  };
  return [
    '### `sluice run` vs Anthropic sandbox-runtime (srt): one command under an allowlist',
    '',
    '| figure | sluice run | srt |',
    '|---|---:|---:|',
    row('start-up to the command running, ms', 'startup_ms'),
    row('1,000 HTTP requests to an allowed host, ms', 'http_1000_ms'),
    row('1,000 TCP connects to an allowed host, ms', 'tcp_1000_ms'),
    '',
    `\`run.srt_startup_ratio\` (goal ≤ 1.0): **${fmt(f['run.srt_startup_ratio'], 3)}** · \`run.srt_connect_ratio\` (goal ≤ 1.0): **${fmt(f['run.srt_connect_ratio'], 3)}**`,
    '',
    '| what the command tries | sluice run | srt |',
    '|---|---|---|',
    ...COVERAGE.map(([what, k]) => `| ${what} | ${cov('sluice', k)} | ${cov('srt', k)} |`),
    '',
  ];
}

export function peerTables(f: Figures): string[] {
  const parts = [...kernelTable(f), ...sinkTable(f), ...runTable(f)];
  return parts.length === 0 ? [] : ['## Side by side with peers', '', ...parts];
}
