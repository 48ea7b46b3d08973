/**
 * Tests that need an outside service (DESIGN §8) take its URL from the environment and ask here whether
 * it answers. Without CI a missing service skips those tests with a message saying how to start it;
 * under `CI=true` it fails the run, so a broken CI machine is never mistaken for a green one.
 *
 * Usage, at the top of a test file:
 *   const url = serviceUrl('nats');
 *   const up = await requireService('nats', url);
 *   (up ? describe : describe.skip)('…', () => { … });
 */
import { connect } from 'node:net';

export type ServiceKind = 'nats' | 'pg' | 'mqtt';

export const SERVICE_ENV = {
  nats: 'PITWALL_TEST_NATS_URL',
  pg: 'PITWALL_TEST_PG_URL',
  mqtt: 'PITWALL_TEST_MQTT_URL',
} as const satisfies Record<ServiceKind, string>;

/** What scripts/services.sh starts when nothing overrides it. */
export const DEFAULT_SERVICE_URLS = {
  nats: 'nats://127.0.0.1:4222',
  pg: 'postgres://pitwall:pitwall@127.0.0.1:5432/pitwall_test',
  mqtt: 'mqtt://127.0.0.1:1883',
} as const satisfies Record<ServiceKind, string>;

const DEFAULT_PORTS: Record<ServiceKind, number> = { nats: 4222, pg: 5432, mqtt: 1883 };

const HOW_TO_START = 'eval "$(scripts/services.sh | tail -2)"';

/** How long a TCP probe waits: loopback answers in well under a millisecond, so a second means nobody is there. */
const PROBE_TIMEOUT_MS = 1000;

export class ServiceUnavailableError extends Error {
  readonly code = 'PW_SERVICE_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ServiceUnavailableError';
  }
}

export function serviceUrl(kind: ServiceKind, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[SERVICE_ENV[kind]];
  return v && v.trim() !== '' ? v.trim() : DEFAULT_SERVICE_URLS[kind];
}

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true';
}

/**
 * True when something accepts TCP connections at the service's address. When nothing does: rejects
 * with `ServiceUnavailableError` under `CI=true`, otherwise says on the console that the tests are
 * skipped and how to start the service, and resolves false.
 */
export async function requireService(kind: ServiceKind, url: string = serviceUrl(kind), env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const { host, port } = addressOf(kind, url);
  const problem = await probeTcp(host, port);
  if (problem === null) return true;
  const what = `${kind} at ${host}:${port} (${SERVICE_ENV[kind]}) does not answer: ${problem}`;
  if (isCi(env)) throw new ServiceUnavailableError(`${what}; CI=true, so the tests that need it fail instead of being skipped`);
  console.warn(`SKIPPED: tests needing ${what}. Start the services with: ${HOW_TO_START}`);
  return false;
}

function addressOf(kind: ServiceKind, url: string): { host: string; port: number } {
  // NATS lists several servers separated by commas; the first is enough to tell whether one is up.
  const first = url.split(',')[0]!.trim();
  const parsed = new URL(first.includes('://') ? first : `${kind}://${first}`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORTS[kind];
  return { host, port };
}

/** Resolves null once a connection opens, or the reason it did not. */
export function probeTcp(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (problem: string | null) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.message));
  });
}
