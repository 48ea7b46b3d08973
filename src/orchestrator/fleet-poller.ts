/**
 * The fleet poll: walks the telematics API's paged `/api/telemetry/all`, hands every page to the
 * ingest module (validation, quarantine with the reason), and records which vehicles exist. A failed
 * poll backs off and is counted; it never stops the loop.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { TelemetrySample } from '../core/telemetry.js';
import type { Store } from '../store/port.js';
import { ingestSamples, quarantineRefusedBody } from './ingest.js';
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
  /** Samples this poll refused; one seen by an earlier poll is refused again but counted only once. */
  rejected: number;
  error?: string;
}

export class FleetPoller {
  private failures = 0;
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
    try {
      do {
        const page = await this.client.fetchPage(cursor, this.opts.pageSize);
        pages += 1;
        const r = await this.ingest(page.vehicles, 'telematics_api');
        accepted += r.accepted;
        rejected += r.rejected;
        cursor = page.next_cursor;
      } while (cursor !== null && pages < this.opts.maxPages);
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
    await quarantineRefusedBody(this.store, { now: this.clock.now(), source: 'telematics_api', bytes: err.bytes, message: err.message });
  }

  /**
   * Ingests raw samples (validation, quarantine) and records the vehicles of the good ones. Exposed
   * for push sources. A bad sample the poll sees again (a vehicle's latest sample stays the same until
   * a newer one exists) is refused again but stored and counted only the first time.
   */
  async ingest(raw: unknown[], source = 'telematics_api'): Promise<{ accepted: number; rejected: number }> {
    const now = this.clock.now();
    const r = await ingestSamples(this.store, raw, { now, source });
    if (r.quarantined > 0) this.log.debug({ rejected: r.rejected, quarantined: r.quarantined, source }, 'telemetry rejected');
    if (r.accepted.length > 0) {
      await this.store.upsertVehicles(
        r.accepted.map((s) => ({ vin: s.vin, lastSampleAt: s.ts })),
        now,
      );
      this.onSamples?.(r.accepted);
    }
    return { accepted: r.accepted.length, rejected: r.rejected };
  }
}
