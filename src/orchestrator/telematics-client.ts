/** HTTP client of the telematics API: paged fleet poll and per-vehicle history, each with a timeout. */

export class TelematicsError extends Error {
  readonly code = 'PW_TELEMATICS';
  constructor(
    message: string,
    readonly status: number | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TelematicsError';
  }
}

/** The telematics API sent a body larger than Pitwall reads: refused unread, counted as oversized input. */
export class OversizedBodyError extends TelematicsError {
  constructor(
    message: string,
    readonly bytes: number,
  ) {
    super(message, 200);
    this.name = 'OversizedBodyError';
  }
}

export function isOversizedBody(err: unknown): err is OversizedBodyError {
  return err instanceof OversizedBodyError;
}

export interface FleetPage {
  vehicles: unknown[];
  next_cursor: string | null;
}

export interface TelematicsClient {
  fetchPage(cursor: string | null, limit: number): Promise<FleetPage>;
  /** Samples of one vehicle in (since, now], oldest first (raw: validated by the caller). */
  fetchHistory(vin: string, since: number, limit: number): Promise<unknown[]>;
}

/** Bodies larger than this are refused unread: one bad page must not exhaust memory. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export function createTelematicsClient(baseUrl: string, timeoutMs: number, maxBytes = MAX_RESPONSE_BYTES): TelematicsClient {
  const base = baseUrl.replace(/\/+$/, '');
  async function getJson(path: string): Promise<unknown> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      const res = await fetch(`${base}${path}`, { signal: ctrl.signal, headers: { accept: 'application/json' } });
      if (!res.ok) throw new TelematicsError(`GET ${path} answered ${res.status}`, res.status);
      const length = Number(res.headers.get('content-length') ?? 0);
      if (length > maxBytes) throw new OversizedBodyError(`GET ${path}: body of ${length} bytes is over the ${maxBytes}-byte limit`, length);
      const text = await res.text();
      if (text.length > maxBytes) throw new OversizedBodyError(`GET ${path}: body of ${text.length} bytes is over the ${maxBytes}-byte limit`, text.length);
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new TelematicsError(`GET ${path}: body is not JSON`, res.status, { cause: err });
      }
    } catch (err) {
      if (err instanceof TelematicsError) throw err;
      const cause = (err as Error).cause;
      const why = ctrl.signal.aborted
        ? `timed out after ${timeoutMs} ms`
        : `${(err as Error).message}${cause instanceof Error ? ` (${cause.message})` : ''}`;
      throw new TelematicsError(`GET ${path}: ${why}`, null, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    async fetchPage(cursor, limit) {
      const q = new URLSearchParams({ limit: String(limit) });
      if (cursor) q.set('cursor', cursor);
      const body = await getJson(`/api/telemetry/all?${q}`);
      if (typeof body !== 'object' || body === null || !Array.isArray((body as FleetPage).vehicles)) {
        throw new TelematicsError('fleet page has no vehicles array', 200);
      }
      const page = body as FleetPage;
      const next = page.next_cursor;
      return { vehicles: page.vehicles, next_cursor: typeof next === 'string' && next !== '' ? next : null };
    },
    async fetchHistory(vin, since, limit) {
      const q = new URLSearchParams({ since: new Date(since).toISOString(), limit: String(limit) });
      const body = await getJson(`/api/telemetry/${encodeURIComponent(vin)}/history?${q}`);
      const samples = Array.isArray(body) ? body : (body as { samples?: unknown }).samples;
      if (!Array.isArray(samples)) throw new TelematicsError('history has no samples array', 200);
      return samples;
    },
  };
}
