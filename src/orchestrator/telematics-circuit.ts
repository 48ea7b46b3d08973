/**
 * One circuit breaker around every call to the telematics API, the fleet poll and each vehicle's
 * history fetch alike. An outage is one fact about the API, not a failure of each case waiting on it:
 * after a few failures in a row the circuit opens, calls fail fast without touching the network, and
 * one probe at a time (after a back-off that doubles while the API stays down) finds out when it is
 * back. The orchestrator holds cases' telemetry work while the circuit is open instead of failing it.
 */
import { TelematicsError, type TelematicsClient } from './telematics-client.js';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitOptions {
  /** Outage-like failures in a row that open the circuit. @default 3 */
  failureThreshold?: number;
  /** Real ms the circuit first stays open before a probe; doubles at each failed probe. @default 1000 */
  openMs?: number;
  /** @default 30000 */
  maxOpenMs?: number;
  /** Real time, injectable for tests. @default Date.now */
  now?: () => number;
  /** Told of every change of state, with the state left (closed → open starts an outage) and the error that caused an opening. */
  onChange?: (state: CircuitState, info: { from: CircuitState; failures: number; error?: string; retryInMs: number }) => void;
}

/** A call refused without touching the network because the circuit is open. */
export class CircuitOpenError extends TelematicsError {
  constructor(readonly retryInMs: number) {
    super(`telematics API unreachable; the circuit is open, next probe in ${Math.ceil(retryInMs / 1000)} s`, null);
    this.name = 'CircuitOpenError';
  }
}

/**
 * Whether an error says the API is unreachable or unwell (no answer, a timeout, 5xx, 429) rather than
 * that it answered about this one request (404 for an unknown vehicle, a body that is not JSON).
 */
export function isOutage(err: unknown): boolean {
  if (!(err instanceof TelematicsError)) return false;
  return err.status === null || err.status >= 500 || err.status === 429;
}

export interface CircuitSnapshot {
  state: CircuitState;
  /** Outage-like failures since the last call that got an answer. */
  consecutive_failures: number;
  /** Real ms until the next probe may go out (0 unless open). */
  retry_in_ms: number;
  last_error: string | null;
}

export class TelematicsCircuit {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openMs: number;
  private retryAt = 0;
  private probing = false;
  private lastError: string | null = null;
  private readonly threshold: number;
  private readonly firstOpenMs: number;
  private readonly maxOpenMs: number;
  readonly now: () => number;
  private readonly onChange: NonNullable<CircuitOptions['onChange']>;

  constructor(opts: CircuitOptions = {}) {
    this.threshold = opts.failureThreshold ?? 3;
    this.firstOpenMs = opts.openMs ?? 1000;
    this.maxOpenMs = opts.maxOpenMs ?? 30_000;
    this.openMs = this.firstOpenMs;
    this.now = opts.now ?? Date.now;
    this.onChange = opts.onChange ?? (() => undefined);
    if (!(Number.isInteger(this.threshold) && this.threshold >= 1)) throw new RangeError('failureThreshold must be an integer ≥ 1');
  }

  get state(): CircuitState {
    return this.current;
  }

  /** True while calls go out freely; anything else means the API is (or was just) down. */
  get closed(): boolean {
    return this.current === 'closed';
  }

  /** Whether a call made now would go out: closed, or open with its probe due and not yet taken. */
  get callable(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') return this.now() >= this.retryAt;
    return !this.probing;
  }

  /** Real ms until a call may go out again (0 when it may now). */
  retryInMs(): number {
    return this.current === 'open' ? Math.max(0, this.retryAt - this.now()) : 0;
  }

  snapshot(): CircuitSnapshot {
    return {
      state: this.current,
      consecutive_failures: this.failures,
      retry_in_ms: this.retryInMs(),
      last_error: this.lastError,
    };
  }

  /** Runs `fn` through the circuit: refused with CircuitOpenError while open, its outcome recorded. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    const probe = this.admit();
    try {
      const result = await fn();
      this.answered();
      return result;
    } catch (err) {
      if (isOutage(err)) this.failed(err as TelematicsError, probe);
      else this.answered();
      throw err;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** The client whose every call goes through this circuit. */
  wrap(client: TelematicsClient): TelematicsClient {
    return {
      fetchPage: (cursor, limit) => this.call(() => client.fetchPage(cursor, limit)),
      fetchHistory: (vin, since, limit) => this.call(() => client.fetchHistory(vin, since, limit)),
    };
  }

  /** Returns whether this call is the half-open probe; throws when no call may go out. */
  private admit(): boolean {
    if (this.current === 'closed') return false;
    if (this.current === 'open') {
      const wait = this.retryAt - this.now();
      if (wait > 0) throw new CircuitOpenError(wait);
      this.set('half_open');
    }
    if (this.probing) throw new CircuitOpenError(0);
    this.probing = true;
    return true;
  }

  private answered(): void {
    this.failures = 0;
    this.openMs = this.firstOpenMs;
    this.lastError = null;
    if (this.current !== 'closed') this.set('closed');
  }

  private failed(err: TelematicsError, probe: boolean): void {
    this.failures += 1;
    this.lastError = err.message;
    // A call that went out before the circuit opened and failed after says nothing new.
    if (this.current === 'open') return;
    if (probe) {
      this.openMs = Math.min(this.maxOpenMs, this.openMs * 2);
      this.open(err);
    } else if (this.current === 'closed' && this.failures >= this.threshold) {
      this.open(err);
    }
  }

  private open(err: TelematicsError): void {
    this.retryAt = this.now() + this.openMs;
    this.set('open', err.message);
  }

  private set(state: CircuitState, error?: string): void {
    const from = this.current;
    this.current = state;
    this.onChange(state, { from, failures: this.failures, retryInMs: this.retryInMs(), ...(error !== undefined ? { error } : {}) });
  }
}
