/**
 * The fleet poll: walks the telematics API's paged `/api/telemetry/all`, validates every sample at the
 * boundary, quarantines the bad ones with their reason, and records which vehicles exist. A failed
 * poll backs off and is counted; it never stops the loop.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { validateSample, type TelemetrySample } from '../core/telemetry.js';
import type { QuarantinedSample, Store } from '../store/port.js';
import { isOversizedBody, type OversizedBodyError, type TelematicsClient } from './telematics-client.js';

export interface FleetPollerOptions {
  pageSize: number;
  /** Pages walked per poll at most: a runaway cursor cannot loop forever. */
  maxPages: number;
  /** First back-off after a failed poll; doubles up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

export interface PollReport {
  ok: boolean;
  pages: number;
  accepted: number;
  rejected: number;
  error?: string;
}

const RAW_LIMIT = 4096;

export class FleetPoller {
  private failures = 0;
  /** Clock time the last complete poll started: samples stamped before it were validated then. */
  private lastPolledAt = -Infinity;
  private retryAt = 0;
  lastPoll: PollReport | null = null;

  constructor(
    private readonly client: TelematicsClient,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: FleetPollerOptions,
    private readonly onSamples?: (samples: TelemetrySample[]) => void,
  ) {}

  /** Real-time ms before the next poll may run after failures (0 when healthy). */
  backoffRemaining(realNow: number): number {
    return Math.max(0, this.retryAt - realNow);
  }

  async poll(): Promise<PollReport> {
    let cursor: string | null = null;
    let pages = 0;
    let accepted = 0;
    let rejected = 0;
    const startedAt = this.clock.now();
    try {
      do {
        const page = await this.client.fetchPage(cursor, this.opts.pageSize);
        pages += 1;
        const r = await this.ingest(page.vehicles, 'telematics_api', this.lastPolledAt);
        accepted += r.accepted;
        rejected += r.rejected;
        cursor = page.next_cursor;
      } while (cursor !== null && pages < this.opts.maxPages);
      this.lastPolledAt = startedAt;
      if (this.failures > 0) this.log.info({ after_failures: this.failures }, 'telematics API reachable again');
      this.failures = 0;
      this.retryAt = 0;
      this.lastPoll = { ok: true, pages, accepted, rejected };
    } catch (err) {
      if (isOversizedBody(err)) await this.quarantineBody(err);
      this.failures += 1;
      const backoff = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (this.failures - 1));
      this.retryAt = Date.now() + backoff;
      const error = err instanceof Error ? err.message : String(err);
      await this.store.incrementCounters({ telematics_poll_failures: 1, errors_encountered: 1 });
      this.log.warn({ err: error, failures: this.failures, backoff_ms: backoff }, 'fleet poll failed; backing off');
      this.lastPoll = { ok: false, pages, accepted, rejected, error };
    }
    return this.lastPoll;
  }

  private async quarantineBody(err: OversizedBodyError): Promise<void> {
    const rejection = { reason: 'oversized' as const, field: 'body', message: err.message };
    await this.store.quarantine([{ receivedAt: this.clock.now(), vin: null, source: 'telematics_api', rejection, raw: `(${err.bytes} bytes, not kept)` }]);
    await this.store.incrementCounters({ 'telemetry_rejected:oversized': 1 });
  }

  /**
   * Validates raw samples, quarantines rejects, records vehicles. Exposed for MQTT and push sources.
   * `seenUntil`: a poll sees a vehicle's latest sample again until a newer one exists, so a bad sample
   * stamped before the previous poll was already quarantined and counted then, and is not again.
   */
  async ingest(raw: unknown[], source = 'telematics_api', seenUntil = -Infinity): Promise<{ accepted: number; rejected: number }> {
    const now = this.clock.now();
    const good: TelemetrySample[] = [];
    const bad: QuarantinedSample[] = [];
    const counts: Record<string, number> = {};
    for (const item of raw) {
      const r = validateSample(item, now);
      if (r.ok) {
        good.push(r.sample);
      } else if (!stampedBefore(item, seenUntil)) {
        bad.push({ receivedAt: now, vin: r.vin, source, rejection: r.rejection, raw: safeRaw(item) });
        const key = `telemetry_rejected:${r.rejection.reason}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    }
    if (bad.length > 0) {
      await this.store.quarantine(bad);
      await this.store.incrementCounters(counts);
      this.log.debug({ rejected: bad.length, reasons: counts }, 'telemetry rejected');
    }
    if (good.length > 0) {
      await this.store.upsertVehicles(
        good.map((s) => ({ vin: s.vin, lastSampleAt: s.ts })),
        now,
      );
      this.onSamples?.(good);
    }
    return { accepted: good.length, rejected: bad.length };
  }
}

function stampedBefore(item: unknown, t: number): boolean {
  const stamped = Date.parse(String((item as { timestamp?: unknown } | null)?.timestamp));
  return Number.isFinite(stamped) && stamped < t;
}

function safeRaw(item: unknown): string {
  try {
    const s = JSON.stringify(item) ?? String(item);
    return s.length > RAW_LIMIT ? `${s.slice(0, RAW_LIMIT)}…` : s;
  } catch {
    return String(item).slice(0, RAW_LIMIT);
  }
}
