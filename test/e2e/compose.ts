// A compose project of infra/docker-compose.yml owned by one test file: its own project name, secrets,
// pin directory and managed cgroup scope, so it never touches the dev servers, another test's stack
// or the kernel state of the local pipeline (/sys/fs/bpf/sluice, /sluice).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COMPOSE_FILE = join(REPO_ROOT, 'infra', 'docker-compose.yml');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; stderr is also streamed to ours with a prefix when `echo` is set (long builds). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; echo?: string; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (opts.echo) process.stderr.write(d.replace(/^(?=.)/gm, `[${opts.echo}] `));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export async function mustRun(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** The cgroup2 mount, from mountinfo (on this hybrid host /sys/fs/cgroup/unified). */
export function cgroup2Mount(): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'cgroup2') return pre!.split(' ')[4]!;
  }
  throw new Error('no cgroup2 mount in /proc/self/mountinfo');
}

/** `docker-compose` (1.29) unless SLUICE_COMPOSE names another, e.g. "docker compose" (v2). */
function composeCommand(): [string, string[]] {
  const words = (process.env.SLUICE_COMPOSE ?? 'docker-compose').trim().split(/\s+/);
  return [words[0]!, words.slice(1)];
}

export class ComposeStack {
  readonly id = randomBytes(4).toString('hex');
  readonly project = `sluice-e2e-${this.id}`;
  readonly pinDir = `/sys/fs/bpf/sluice-e2e-${this.id}`;
  readonly scope = `/sluice-e2e-${this.id}`;
  /** Agents are started with this --cgroup-parent: inside the managed scope. */
  readonly agentParent = `${this.scope}/agents`;
  readonly cgroupRoot = cgroup2Mount();
  readonly env: NodeJS.ProcessEnv;

  constructor(images: Record<string, string>) {
    // nats-server parses an expanded $VAR as a config token: a value starting with a digit is read
    // as a number and the server refuses the file. Letters first, then hex.
    const secret = () => `s${randomBytes(16).toString('hex')}`;
    this.env = {
      ...process.env,
      ...images,
      SLUICE_OPERATOR_PASSWORD: secret(),
      SLUICE_VIEWER_PASSWORD: secret(),
      SLUICE_POLICY_PASSWORD: secret(),
      SLUICE_LEARNER_PASSWORD: secret(),
      SLUICE_READER_PASSWORD: secret(),
      SLUICE_ATTRIBUTOR_PASSWORD: secret(),
      SLUICE_SINK_PASSWORD: secret(),
      SLUICE_OTLP_PASSWORD: secret(),
      SLUICE_REDIS_PASSWORD: secret(),
      SLUICE_NODE_NAME: `e2e-${this.id}`,
      SLUICE_BPF_PIN: this.pinDir,
      SLUICE_MANAGED_CGROUPS: this.scope,
      SLUICE_CGROUP2_MOUNT: this.cgroupRoot,
    };
  }

  compose(args: string[], echo?: string): Promise<RunResult> {
    const [cmd, pre] = composeCommand();
    return run(cmd, [...pre, '-f', COMPOSE_FILE, '-p', this.project, ...args], { env: this.env, echo });
  }

  async mustCompose(args: string[], echo?: string): Promise<string> {
    const r = await this.compose(args, echo);
    if (r.code !== 0) throw new Error(`compose ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}`);
    return r.stdout;
  }

  /** Containers of this project (compose's own label), running or not. */
  async containers(all = true): Promise<Array<{ id: string; service: string; state: string; health: string }>> {
    const ids = (await mustRun('docker', ['ps', ...(all ? ['-a'] : []), '-q', '--filter', `label=com.docker.compose.project=${this.project}`]))
      .split('\n')
      .filter(Boolean);
    if (ids.length === 0) return [];
    const fmt = '{{.Id}}\t{{index .Config.Labels "com.docker.compose.service"}}\t{{.State.Status}}\t{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}';
    const out = await mustRun('docker', ['inspect', '-f', fmt, ...ids]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [id, service, state, health] = l.split('\t');
        return { id: id!, service: service!, state: state!, health: health! };
      });
  }

  async containerOf(service: string): Promise<string> {
    const c = (await this.containers(false)).find((x) => x.service === service);
    if (!c) throw new Error(`${this.project}: no running container for service ${service}`);
    return c.id;
  }

  /** A command inside a service's container (the data plane publishes no host ports). */
  async exec(service: string, cmd: string[]): Promise<string> {
    return mustRun('docker', ['exec', await this.containerOf(service), ...cmd]);
  }

  async logs(): Promise<string> {
    const r = await this.compose(['logs', '--no-color', '--tail', '40']);
    return r.stdout + r.stderr;
  }

  /** What a `down -v` leaves of this project: containers, networks, volumes (should be none). */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.project}`;
    const left: string[] = [];
    for (const [kind, args] of [
      ['container', ['ps', '-a', '-q', '--filter', label]],
      ['network', ['network', 'ls', '-q', '--filter', label]],
      ['volume', ['volume', 'ls', '-q', '--filter', label]],
    ] as const) {
      for (const id of (await mustRun('docker', [...args])).split('\n').filter(Boolean)) left.push(`${kind} ${id}`);
    }
    return left;
  }

  /**
   * The kernel state the stack leaves on purpose (enforcement outlives the services): unpinning the
   * links detaches the programs, then the scope's cgroups (empty once the agents are gone) go.
   */
  removeKernelState(): void {
    rmSync(this.pinDir, { recursive: true, force: true });
    const scope = join(this.cgroupRoot, this.scope);
    const rmTree = (dir: string): void => {
      if (!existsSync(dir)) return;
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) rmTree(p);
      }
      rmdirSync(dir);
    };
    rmTree(scope);
  }
}

/** Thrown by a `waitFor` check to stop waiting at once (a container died: no point in waiting on). */
export class Fatal extends Error {}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; `what` names it. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
