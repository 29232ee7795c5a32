// `sluice up|down --compose`: the pipeline as the docker compose deployment (infra/docker-compose.yml)
// instead of local processes. Images come from scripts/build-images.sh; the secrets are generated
// once into .run/compose.env (0600) and reused, because compose needs them for `down` as well.
// Overrides (SLUICE_BPF_PIN, SLUICE_MANAGED_CGROUPS, SLUICE_NODE_NAME, ...) pass through from the
// caller's environment; infra/docker/README.md lists them.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, RUN_DIR } from './paths.ts';

export const COMPOSE_FILE = join(REPO_ROOT, 'infra', 'docker-compose.yml');
const BUILD_IMAGES = join(REPO_ROOT, 'scripts', 'build-images.sh');
const SECRETS = ['OPERATOR', 'VIEWER', 'POLICY', 'LEARNER', 'READER', 'ATTRIBUTOR', 'SINK', 'OTLP', 'REDIS'].map((n) => `SLUICE_${n}_PASSWORD`);
export const COMPOSE_SERVICES = ['nats', 'redis', 'opensearch', 'prometheus', 'policy', 'bpf-reader', 'attributor', 'learner', 'sink', 'otlp-receiver'];

export const composeProject = (): string => process.env.SLUICE_COMPOSE_PROJECT ?? 'sluice';

function parseEnvLines(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

/** The deployment's secrets, made on first use. Letters first: nats-server reads `$VAR`s as tokens. */
export function composeSecrets(): Record<string, string> {
  const file = join(RUN_DIR, 'compose.env');
  const vars = existsSync(file) ? parseEnvLines(readFileSync(file, 'utf8')) : {};
  const missing = SECRETS.filter((k) => !vars[k]);
  if (missing.length > 0) {
    for (const k of missing) vars[k] = `s${randomBytes(16).toString('hex')}`;
    mkdirSync(RUN_DIR, { recursive: true });
    writeFileSync(file, Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  }
  return vars;
}

/** Builds (or finds up to date) the images; their SLUICE_*_IMAGE tags. Progress goes to stderr. */
export function buildImages(): Record<string, string> {
  const r = spawnSync('bash', [BUILD_IMAGES], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-images.sh failed (exit ${r.status})`);
  const images = parseEnvLines(r.stdout);
  writeFileSync(join(RUN_DIR, 'images.env'), r.stdout);
  return images;
}

function composeEnv(images: Record<string, string> = {}): NodeJS.ProcessEnv {
  const imagesFile = join(RUN_DIR, 'images.env');
  const known = existsSync(imagesFile) ? parseEnvLines(readFileSync(imagesFile, 'utf8')) : {};
  return { ...known, ...images, ...composeSecrets(), ...process.env };
}

/** Runs docker-compose (or $SLUICE_COMPOSE, e.g. "docker compose") on the deployment; output to stderr. */
export function compose(args: string[], images?: Record<string, string>): Promise<number> {
  const [cmd, ...pre] = (process.env.SLUICE_COMPOSE ?? 'docker-compose').trim().split(/\s+/);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...pre, '-f', COMPOSE_FILE, '-p', composeProject(), ...args], {
      env: composeEnv(images),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export interface ComposeServiceState {
  service: string;
  state: string;
  health: string;
}

/** Docker's view of the project's containers: running state and healthcheck verdict. */
export function composeStates(): ComposeServiceState[] {
  const ids = spawnSync('docker', ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${composeProject()}`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const fmt = '{{index .Config.Labels "com.docker.compose.service"}}\t{{.State.Status}}\t{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}';
  const r = spawnSync('docker', ['inspect', '-f', fmt, ...ids], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [service, state, health] = l.split('\t');
      return { service: service!, state: state!, health: health! };
    });
}

/** Builds, starts, and waits until every service is healthy (or one failed, or the time is up). */
export async function composeUp(timeoutMs: number): Promise<{ ok: boolean; states: ComposeServiceState[] }> {
  const images = buildImages();
  const code = await compose(['up', '-d'], images);
  const deadline = Date.now() + timeoutMs;
  let states = composeStates();
  if (code !== 0) return { ok: false, states };
  for (;;) {
    states = composeStates();
    const failed = states.some((s) => s.state === 'exited' || s.state === 'dead' || s.health === 'unhealthy');
    const healthy = COMPOSE_SERVICES.every((name) => states.some((s) => s.service === name && s.health === 'healthy'));
    if (healthy || failed || Date.now() > deadline) return { ok: healthy, states };
    await new Promise((r) => setTimeout(r, 2000));
  }
}
