/**
 * The fleet poll: walks the telematics API's paged `/api/telemetry/all` and hands every page to the ingest
 * module (validation, quarantine with the reason, the vehicles seen). A failed poll backs off and is
 * counted; it never stops the loop.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/port.js';
import { INGEST_SOURCES, type TelemetryIngest } from './ingest.js';
import { isOversizedBody, type TelematicsClient } from './telematics-client.js';

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
    private readonly ingest: TelemetryIngest,
    private readonly store: Pick<Store, 'incrementCounters'>,
    private readonly log: Logger,
    private readonly opts: FleetPollerOptions,
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
        // A bad sample the poll sees again (a vehicle's latest sample stays the same until a newer one
        // exists) is refused again but stored and counted only the first time.
        const r = await this.ingest.live(page.vehicles, INGEST_SOURCES.poll);
        accepted += r.accepted.length;
        rejected += r.rejected;
        cursor = page.next_cursor;
      } while (cursor !== null && pages < this.opts.maxPages);
      if (this.failures > 0) this.log.info({ after_failures: this.failures }, 'telematics API reachable again');
      this.failures = 0;
      this.retryAt = 0;
      this.lastPoll = { ok: true, pages, accepted, rejected };
    } catch (err) {
      if (isOversizedBody(err)) await this.ingest.refusedBody(INGEST_SOURCES.poll, { bytes: err.bytes, message: err.message });
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
}
