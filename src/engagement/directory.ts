/** CustomerDirectory adapters. The composition root chooses one; the agent only sees the port. */
import { NOTIFICATION_CHANNELS, type Customer, type CustomerDirectory, type NotificationChannel } from './ports.js';
import type { FetchFn } from './gateway.js';

/** Wraps any lookup function (a CRM client, a test table). */
export function createFunctionDirectory(lookup: (vin: string) => Promise<Customer | null>): CustomerDirectory {
  return { lookup };
}

export function createStaticDirectory(customers: Readonly<Record<string, Customer>>): CustomerDirectory {
  return { lookup: async (vin) => customers[vin] ?? null };
}

/** Reads an owner object from untrusted JSON; null when it lacks what a message needs. */
export function parseCustomer(input: unknown): Customer | null {
  if (typeof input !== 'object' || input === null) return null;
  const o = input as Record<string, unknown>;
  const { name, email, phone } = o;
  const preferred = o['preferred_channel'];
  if (typeof name !== 'string' || typeof email !== 'string' || typeof phone !== 'string') return null;
  const channel: NotificationChannel = (NOTIFICATION_CHANNELS as readonly unknown[]).includes(preferred)
    ? (preferred as NotificationChannel)
    : 'email';
  return { name, email, phone, preferred_channel: channel };
}

export interface TelematicsDirectoryOptions {
  /** @default 5000 */
  timeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: FetchFn;
  /** Owners kept in memory, most recently used first. @default 1000 */
  cacheSize?: number;
}

/**
 * Owners from the telematics API, one vehicle at a time (`GET {url}/api/vehicles/{vin}` → `{vin, owner}`):
 * only customers being contacted are read, and a bounded cache keeps memory flat however large the fleet.
 * An unknown VIN (404) is no owner; any other failure throws, so the bus retries the engagement.
 */
export function createTelematicsDirectory(url: string, opts: TelematicsDirectoryOptions = {}): CustomerDirectory {
  const base = url.replace(/\/+$/, '');
  const doFetch: FetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = opts.timeoutMs ?? 5000;
  const capacity = opts.cacheSize ?? 1000;
  const cache = new Map<string, Customer>();

  return {
    async lookup(vin) {
      const hit = cache.get(vin);
      if (hit) {
        cache.delete(vin);
        cache.set(vin, hit);
        return hit;
      }
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), timeoutMs);
      let body: unknown;
      try {
        const res = await doFetch(`${base}/api/vehicles/${encodeURIComponent(vin)}`, { method: 'GET', signal: ctl.signal });
        if (res.status === 404) return null;
        if (!res.ok) throw new Error(`telematics API answered ${res.status} for vehicle ${vin}`);
        body = await res.json();
      } finally {
        clearTimeout(timer);
      }
      const customer = parseCustomer((body as { owner?: unknown } | null)?.owner);
      if (!customer) return null;
      cache.set(vin, customer);
      if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
      return customer;
    },
  };
}
