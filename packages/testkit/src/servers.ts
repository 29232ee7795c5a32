// Where the real servers of a test run are. scripts/test.sh starts private instances on private
// ports and exports their endpoints; tests and benchmarks read them here and nowhere else. There is
// deliberately no fallback to the default ports: a user's Sluice (or their own NATS, Redis,
// OpenSearch) may be listening there, and a test must never publish into it, consume from it or
// delete its state.

/** The variables scripts/test.sh exports, one per server endpoint. */
export const SERVER_VARS = ['NATS_URL', 'NATS_MONITOR_URL', 'REDIS_URL', 'OPENSEARCH_URL', 'DOCKER_HOST'] as const;
export type ServerVar = (typeof SERVER_VARS)[number];
export type TestServers = Record<ServerVar, string>;

// The ports a user's Sluice uses (scripts/services.sh defaults): a test pointed at them is a
// mistake even when the variable is set, e.g. exported by `eval "$(scripts/services.sh up)"`.
const USER_PORTS: Partial<Record<ServerVar, string>> = {
  NATS_URL: '4222',
  NATS_MONITOR_URL: '8222',
  REDIS_URL: '6379',
  OPENSEARCH_URL: '9200',
};

export class TestServersError extends Error {
  override name = 'TestServersError';
}

function problem(name: ServerVar, env: NodeJS.ProcessEnv): string | undefined {
  const value = env[name];
  if (!value) return `${name} is not set`;
  const port = USER_PORTS[name];
  if (port && endpointPort(value) === port) return `${name}=${value} is the default port of a user's Sluice`;
  return undefined;
}

function endpointPort(value: string): string | undefined {
  try {
    return new URL(value.split(',')[0]!).port || undefined;
  } catch {
    return undefined;
  }
}

function fail(problems: string[]): never {
  throw new TestServersError(
    `${problems.join('; ')}: tests and benchmarks run against private servers on private ports — ` +
      `run them through scripts/test.sh, which starts those servers and exports ${SERVER_VARS.join(', ')}`,
  );
}

/** One server endpoint of this test run; throws naming the variable when it is missing or unsafe. */
export function testServer(name: ServerVar, env: NodeJS.ProcessEnv = process.env): string {
  const p = problem(name, env);
  if (p) fail([p]);
  return env[name]!;
}

/** Every server endpoint of this test run; throws naming all that are missing or unsafe at once. */
export function testServers(env: NodeJS.ProcessEnv = process.env): TestServers {
  const problems = SERVER_VARS.map((n) => problem(n, env)).filter((p): p is string => p !== undefined);
  if (problems.length > 0) fail(problems);
  return Object.fromEntries(SERVER_VARS.map((n) => [n, env[n]!])) as TestServers;
}

/** The Docker socket path of DOCKER_HOST (unix://PATH), for dockerode and the attributor's DOCKER_SOCKET. */
export function dockerSocket(env: NodeJS.ProcessEnv = process.env): string {
  const host = testServer('DOCKER_HOST', env);
  if (!host.startsWith('unix://')) throw new TestServersError(`DOCKER_HOST=${host}: the tests need a unix:// socket`);
  return host.slice('unix://'.length);
}
