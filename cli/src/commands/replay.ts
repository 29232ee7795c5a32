import { parseArgs } from 'node:util';
import { createWriteStream } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { out, say, UsageError, type Command } from '../command.ts';
import { pacer, Progress } from '../replay/progress.ts';
import { parseBound } from '../replay/range.ts';
import { readRange, streamRange } from '../replay/sources.ts';
import { sinkTarget } from '../replay/to-sink.ts';
import { cliNatsServers } from '../nats-servers.ts';

export const replay: Command = {
  name: 'replay',
  summary: 'replay a stream range to a subject, a file or the sink (idempotent re-indexing)',
  usage:
    'replay --stream S --from SEQ|TIME [--to SEQ|TIME] (--to-subject X | --to-file F | --to-sink [--prefix P]) [--rate N]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        stream: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'to-subject': { type: 'string' },
        'to-file': { type: 'string' },
        'to-sink': { type: 'boolean', default: false },
        prefix: { type: 'string' },
        rate: { type: 'string', default: '0' },
        nats: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
        opensearch: { type: 'string', default: process.env.OPENSEARCH_URL ?? '' },
      },
    });
    if (!values.stream) throw new UsageError('replay: --stream is required');
    if (!values.from) throw new UsageError('replay: --from is required');
    const targets = [values['to-subject'], values['to-file'], values['to-sink'] || undefined].filter((t) => t !== undefined);
    if (targets.length !== 1) throw new UsageError('replay: give exactly one of --to-subject, --to-file, --to-sink');
    const rate = Number(values.rate);
    if (!Number.isFinite(rate) || rate < 0) throw new UsageError(`--rate ${JSON.stringify(values.rate)}: expected messages per second`);
    const from = parseBound('--from', values.from);
    const to = values.to !== undefined ? parseBound('--to', values.to) : undefined;

    const nc = await connect({ servers: cliNatsServers(values.nats) });
    try {
      const range = await streamRange(nc, values.stream);
      const endSeq = to && 'seq' in to ? Math.min(to.seq, range.lastSeq) : range.lastSeq;
      const startSeq = 'seq' in from ? Math.max(from.seq, range.firstSeq) : range.firstSeq;
      const progress = new Progress(`replay ${values.stream}`, Math.max(0, endSeq - startSeq + 1));
      const pace = pacer(rate);
      const js = jetstream(nc);
      const file = values['to-file'] ? createWriteStream(values['to-file'], { flags: 'w' }) : undefined;
      const sink = values['to-sink'] ? await sinkTarget(values.opensearch, values.prefix) : undefined;
      let done = 0;
      let lastSeq = 0;
      for await (const m of readRange(nc, values.stream, from, to, endSeq)) {
        await pace();
        if (values['to-subject']) {
          const h = natsHeaders();
          for (const [k, v] of m.headers ?? []) if (k !== 'Nats-Msg-Id') for (const x of v) h.append(k, x);
          // A replayed message keeps a stable id, so replaying the same range twice is a no-op downstream.
          await js.publish(values['to-subject'], m.data, { headers: h, msgID: `replay:${values.stream}:${m.seq}` });
        } else if (file) {
          const text = Buffer.from(m.data).toString('utf8');
          const binary = text.includes('\uFFFD') || text.includes('\0');
          const line = {
            stream: values.stream,
            seq: m.seq,
            subject: m.subject,
            time: new Date(m.info.timestampNanos / 1e6).toISOString(),
            headers: Object.fromEntries([...(m.headers ?? [])].map(([k, v]) => [k, v.join(',')])),
            encoding: binary ? 'base64' : 'utf8',
            data: binary ? Buffer.from(m.data).toString('base64') : text,
          };
          if (!file.write(`${JSON.stringify(line)}\n`)) await new Promise<void>((r) => file.once('drain', () => r()));
        } else if (sink) {
          await sink.add(m.subject, m.string());
        }
        done++;
        lastSeq = m.seq;
        progress.update(done);
      }
      if (sink) await sink.flush();
      if (file) await new Promise<void>((r, j) => file.end((err?: Error | null) => (err ? j(err) : r())));
      progress.finish(done);
      const summary = { stream: values.stream, messages: done, last_seq: lastSeq, ...(sink ? sink.stats() : {}) };
      out(JSON.stringify(summary));
      if (sink && sink.stats().rejected > 0) say(`replay: ${sink.stats().rejected} document(s) rejected by the sink`);
      return sink && sink.stats().rejected > 0 ? 1 : 0;
    } finally {
      await nc.close();
    }
  },
};
