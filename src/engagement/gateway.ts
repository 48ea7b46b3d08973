/** NotificationGateway adapters: the simulator's HTTP provider, and a recording one for tests. */
import { BoundedSet } from '../bus/bounded-set.js';
import type { Notification, NotificationGateway, SendOutcome } from './ports.js';

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpGatewayOptions {
  /** Abort a send after this long. @default 5000 */
  timeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: FetchFn;
  /** Ids remembered as accepted, so a re-send is answered without a request. @default 10 000 */
  rememberIds?: number;
}

/** POSTs each notification as JSON to `{url}/sim/notifications`; 2xx (202 new, 200 duplicate) is accepted. */
export function createHttpGateway(url: string, opts: HttpGatewayOptions = {}): NotificationGateway {
  const endpoint = `${url.replace(/\/+$/, '')}/sim/notifications`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const doFetch: FetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  const accepted = new BoundedSet<string>(opts.rememberIds ?? 10_000);
  return {
    async send(n: Notification): Promise<SendOutcome> {
      if (accepted.has(n.notification_id)) return { accepted: true };
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), timeoutMs);
      try {
        const res = await doFetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(n),
          signal: ctl.signal,
        });
        if (res.ok) {
          accepted.add(n.notification_id);
          return { accepted: true };
        }
        const text = await res.text().catch(() => '');
        return { accepted: false, error: `provider answered ${res.status}: ${text.slice(0, 200)}`, retryable: res.status >= 500 || res.status === 429 };
      } catch (err) {
        const why = ctl.signal.aborted ? `timed out after ${timeoutMs} ms` : err instanceof Error ? err.message : String(err);
        return { accepted: false, error: `provider unreachable: ${why}`, retryable: true };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Records what was sent, delivers each id once (like the real provider), and can be told to fail. */
export class RecordingGateway implements NotificationGateway {
  readonly sent: Notification[] = [];
  /** Every call, duplicates included. */
  calls = 0;
  private failWith: SendOutcome | null = null;

  /** Every later send answers `outcome` until called with null. */
  setFailure(outcome: SendOutcome | null): void {
    this.failWith = outcome;
  }

  async send(n: Notification): Promise<SendOutcome> {
    this.calls += 1;
    if (this.failWith) return this.failWith;
    if (!this.sent.some((s) => s.notification_id === n.notification_id)) this.sent.push(n);
    return { accepted: true };
  }
}
