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
  /** @default 500 */
  pageSize?: number;
}

/**
 * Owners from the telematics API (`GET {url}/api/vehicles?limit=&cursor=` → `{vehicles[{vin, owner}], next_cursor}`).
 * The API has no per-VIN lookup, so the whole list is read once and re-read on a miss (new vehicles).
 */
export function createTelematicsDirectory(url: string, opts: TelematicsDirectoryOptions = {}): CustomerDirectory {
  const base = url.replace(/\/+$/, '');
  const doFetch: FetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = opts.timeoutMs ?? 5000;
  let cache = new Map<string, Customer>();
  let loading: Promise<void> | null = null;

  async function getJson(path: string): Promise<unknown> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      const res = await doFetch(`${base}${path}`, { method: 'GET', signal: ctl.signal });
      if (!res.ok) throw new Error(`telematics API answered ${res.status} for ${path}`);
      return await res.json();
    } finally {
      clearTimeout(timer);
    }
  }

  async function reload(): Promise<void> {
    const next = new Map<string, Customer>();
    let cursor: string | null = null;
    do {
      const q: string = `?limit=${opts.pageSize ?? 500}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = (await getJson(`/api/vehicles${q}`)) as { vehicles?: unknown; next_cursor?: unknown };
      for (const v of Array.isArray(page.vehicles) ? page.vehicles : []) {
        const rec = v as { vin?: unknown; owner?: unknown };
        const customer = parseCustomer(rec.owner);
        if (typeof rec.vin === 'string' && customer) next.set(rec.vin, customer);
      }
      cursor = typeof page.next_cursor === 'string' ? page.next_cursor : null;
    } while (cursor);
    cache = next;
  }

  return {
    async lookup(vin) {
      const hit = cache.get(vin);
      if (hit) return hit;
      // Concurrent misses share one reload rather than each paging through the fleet.
      loading ??= reload().finally(() => {
        loading = null;
      });
      await loading;
      return cache.get(vin) ?? null;
    },
  };
}
