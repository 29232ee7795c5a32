// The allowed host of the `sluice run` vs srt bench: a network namespace of the bench's own, joined
// to this one by a veth pair, serving HTTP and plain TCP on 198.18.0.2 (the benchmarking range).
// srt refuses loopback and this host's own addresses by design, so the host cannot live on lo; the
// address is assigned only inside the namespace, and traffic to it never leaves the machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const HOST_ADDR = '198.18.0.2';
const LOCAL_ADDR = '198.18.0.1';
export const HTTP_PORT = 18080;
export const TCP_PORT = 18081;
/** A port the host listens on but no policy allows (the "not on the list" destination). */
export const OTHER_PORT = 18082;

// HTTP answers "ok" with keep-alive; the TCP listeners accept and close at once.
const SERVER_JS = `
const http = require('node:http'), net = require('node:net');
http.createServer((q, s) => s.end('ok')).listen(${HTTP_PORT}, '${HOST_ADDR}');
for (const p of [${TCP_PORT}, ${OTHER_PORT}]) net.createServer((c) => c.destroy()).listen(p, '${HOST_ADDR}');
setTimeout(() => console.log('ready'), 50);
`;

function ip(args: string[], ok = false): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0 && !ok) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export class PeerHost {
  readonly ns = `slp-host-${process.pid}`;
  private readonly hostIf = `slph${process.pid % 10_000_000}`;
  private readonly nsIf = `slpn${process.pid % 10_000_000}`;
  private server?: ChildProcess;

  async start(): Promise<void> {
    this.stop();
    ip(['netns', 'add', this.ns]);
    ip(['link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', this.nsIf]);
    ip(['link', 'set', this.nsIf, 'netns', this.ns]);
    ip(['addr', 'add', `${LOCAL_ADDR}/30`, 'dev', this.hostIf]);
    ip(['link', 'set', this.hostIf, 'up']);
    ip(['-n', this.ns, 'addr', 'add', `${HOST_ADDR}/30`, 'dev', this.nsIf]);
    ip(['-n', this.ns, 'link', 'set', this.nsIf, 'up']);
    ip(['-n', this.ns, 'link', 'set', 'lo', 'up']);
    this.server = spawn('ip', ['netns', 'exec', this.ns, process.execPath, '-e', SERVER_JS], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      this.server!.stdout!.once('data', () => res());
      this.server!.once('exit', (c) => rej(new Error(`peer host server exited (${c})`)));
    });
  }

  stop(): void {
    this.server?.kill();
    this.server = undefined;
    ip(['link', 'del', this.hostIf], true); // takes its peer along
    ip(['netns', 'del', this.ns], true);
  }
}
