// A real OpenTelemetry Collector (infra/otelcol/builder.yaml: the standard OTLP receiver and the
// debug exporter; scripts/build-otelcol-traces.sh builds it from the Go module proxy) on a private port,
// and the spans it received, read back from its detailed debug output.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';
import { REPO_ROOT } from './repo-paths.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

export interface ExportedSpan {
  service: string;
  traceId: string;
  parentId: string;
  id: string;
  name: string;
  kind: string;
}

export interface OtelCollector {
  /** OTEL_EXPORTER_OTLP_ENDPOINT for the services: http://127.0.0.1:<port>. */
  endpoint: string;
  spans(): ExportedSpan[];
  output(): string;
  stop(): Promise<void>;
}

/** Parses the debug exporter's `verbosity: detailed` traces output. */
export function parseDebugSpans(text: string): ExportedSpan[] {
  const out: ExportedSpan[] = [];
  for (const rs of text.split(/ResourceSpans #\d+/).slice(1)) {
    const service = /-> service\.name: Str\(([^)]*)\)/.exec(rs)?.[1] ?? '';
    for (const block of rs.split(/\nSpan #\d+\n/).slice(1)) {
      const field = (name: string) => new RegExp(`${name}\\s*: ?(.*)`).exec(block)?.[1]?.trim() ?? '';
      out.push({ service, traceId: field('Trace ID'), parentId: field('Parent ID'), id: field('    ID'), name: field('Name'), kind: field('Kind') });
    }
  }
  return out;
}

export async function startOtelCollector(): Promise<OtelCollector> {
  const { stdout } = await run('bash', [join(REPO_ROOT, 'scripts', 'build-otelcol-traces.sh')], { timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
  const bin = stdout.trim();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'otelcol-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      'receivers:',
      '  otlp:',
      '    protocols:',
      '      http:',
      `        endpoint: 127.0.0.1:${port}`,
      'exporters:',
      '  debug:',
      '    verbosity: detailed',
      'service:',
      '  pipelines:',
      '    traces:',
      '      receivers: [otlp]',
      '      exporters: [debug]',
      '  telemetry:',
      '    metrics:',
      '      level: none',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  await waitFor('otel collector ready', async () => {
    if (child.exitCode !== null) throw new Error(`otel collector exited ${child.exitCode}: ${text.slice(-2000)}`);
    return text.includes('Everything is ready') ? true : undefined;
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => parseDebugSpans(text),
    output: () => text,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
