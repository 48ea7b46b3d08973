/**
 * The composition root's one choice of adapters (DESIGN §2, §6): `--db` picks the store, `--bus` the
 * bus. Everything above gets ports (`Store`, `Bus`), never the concrete classes, so nothing else in
 * Pitwall knows whether it runs embedded (SQLite, in-process bus) or distributed (PostgreSQL, NATS).
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Bus } from '../bus/port.js';
import { MemoryBus } from '../bus/memory.js';
import { EnvelopeFactory, type KeyRing } from '../bus/signing.js';
import { signatureMiddleware } from '../bus/verify.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import type { Config } from './config.js';

export type StoreKind = 'sqlite' | 'postgres';

/** A configured store or bus that cannot be opened: the message names which, where (no password) and why. */
export class AdapterError extends Error {
  readonly code = 'PW_ADAPTER';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AdapterError';
  }
}
export type BusKind = 'memory' | 'nats';

export function storeKind(config: Pick<Config, 'db'>): StoreKind {
  return /^postgres(ql)?:\/\//i.test(config.db) ? 'postgres' : 'sqlite';
}

export function busKind(config: Pick<Config, 'bus'>): BusKind {
  return config.bus === 'memory' ? 'memory' : 'nats';
}

/** The SQLite file a configuration names: `--db`, else `<data-dir>/pitwall.db`. */
export function sqlitePath(config: Pick<Config, 'db' | 'dataDir'>): string {
  return config.db || path.join(config.dataDir, 'pitwall.db');
}

/** What the console may show of the store: the file, or the URL without its password. */
export function describeStore(config: Pick<Config, 'db' | 'dataDir'>): string {
  if (storeKind(config) === 'sqlite') return `SQLite ${sqlitePath(config)}`;
  return `PostgreSQL ${redactUrl(config.db)}`;
}

export function describeBus(config: Pick<Config, 'bus' | 'busNamespace'>): string {
  if (busKind(config) === 'memory') return 'in-process';
  const ns = config.busNamespace ? ` (namespace ${config.busNamespace})` : '';
  return `NATS JetStream ${config.bus.split(',').map(redactUrl).join(',')}${ns}`;
}

/** A URL with its password (and token-style user) replaced, for logs and the console. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    else if (u.username && u.protocol.startsWith('nats')) u.username = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * A PostgreSQL URL's options: `?schema=name` picks the schema holding Pitwall's tables (default
 * `pitwall`), so several deployments or test runs can share one database; it is not passed to the driver.
 */
export function postgresOptions(url: string): { url: string; schema?: string } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  return { url: u.toString(), ...(schema ? { schema } : {}) };
}

/** Opens (and migrates) the configured store. */
export async function openStore(config: Pick<Config, 'db' | 'dataDir'>): Promise<Store> {
  if (storeKind(config) === 'postgres') {
    const { createPostgresStore } = await import('../store/postgres/index.js');
    const store = createPostgresStore(postgresOptions(config.db));
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw new AdapterError(`the store at ${redactUrl(config.db)} could not be opened: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }
  const store = createSqliteStore({ path: sqlitePath(config) });
  await store.migrate();
  return store;
}

export interface BusDeps {
  clock: Clock;
  keys: KeyRing;
  log: Logger;
  /** This process's connection name, as the broker's monitoring shows it (`pitwall-orchestrator-<pid>`). */
  name: string;
}

/**
 * Opens the configured bus with the behaviour every transport shares: signatures checked before each
 * delivery, dead letters signed by the bus, handler failures retried.
 */
export async function openBus(config: Pick<Config, 'bus' | 'busNamespace'>, deps: BusDeps): Promise<Bus> {
  const middleware = [signatureMiddleware(deps.keys, (reason) => deps.log.warn({ reason }, 'bus message refused'))];
  const envelopes = EnvelopeFactory.fromKeyRing('bus', deps.keys, deps.clock);
  const onError = (err: unknown) => deps.log.debug({ err: (err as Error).message }, 'bus handler failed; retrying');
  if (busKind(config) === 'nats') {
    const { createNatsBus } = await import('../bus/nats/index.js');
    return createNatsBus({
      servers: config.bus.split(','),
      namespace: config.busNamespace,
      name: deps.name,
      clock: deps.clock,
      envelopes,
      middleware,
      onError,
    }).catch((err: unknown) => {
      throw new AdapterError(`the bus at ${describeBus(config)} could not be reached: ${(err as Error).message}`, { cause: err });
    });
  }
  return new MemoryBus({ clock: deps.clock, envelopes, middleware, onError });
}
