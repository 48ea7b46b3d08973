/**
 * Runs callbacks when virtual time reaches a moment. One real interval drives all of them, so many
 * pending tasks cost one timer, and a virtual clock at any speed is honoured within one tick.
 */
import type { Clock } from '../core/clock.js';

interface Task {
  at: number;
  seq: number;
  run: () => void | Promise<void>;
}

export class VirtualTicker {
  private tasks: Task[] = [];
  private seq = 0;
  private handle: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly clock: Clock,
    /** Real milliseconds between checks. @default 20 */
    private readonly tickMs = 20,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Schedules `run` at virtual time `at`; returns a cancel function. */
  at(at: number, run: () => void | Promise<void>): () => void {
    const task: Task = { at, seq: this.seq++, run };
    this.tasks.push(task);
    this.ensureRunning();
    return () => {
      this.tasks = this.tasks.filter((t) => t !== task);
    };
  }

  /** Calls `run` every `everyMs` of virtual time, from `now + everyMs`. */
  every(everyMs: number, run: () => void | Promise<void>): () => void {
    let cancelled = false;
    let cancelNext: () => void = () => {};
    const schedule = (from: number): void => {
      if (cancelled) return;
      cancelNext = this.at(from + everyMs, async () => {
        try {
          await run();
        } finally {
          schedule(Math.max(from + everyMs, this.clock.now() - everyMs));
        }
      });
    };
    schedule(this.clock.now());
    return () => {
      cancelled = true;
      cancelNext();
    };
  }

  get pending(): number {
    return this.tasks.length;
  }

  /** Runs every task that is due now. Exposed so tests on a ManualClock can step without real time. */
  async runDue(): Promise<number> {
    const now = this.clock.now();
    const due = this.tasks.filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    if (due.length === 0) return 0;
    this.tasks = this.tasks.filter((t) => t.at > now);
    for (const t of due) {
      try {
        await t.run();
      } catch (err) {
        this.onError(err);
      }
    }
    return due.length;
  }

  stop(): void {
    if (this.handle) clearInterval(this.handle);
    this.handle = null;
    this.tasks = [];
  }

  private ensureRunning(): void {
    if (this.handle) return;
    this.handle = setInterval(() => {
      if (this.running) return;
      this.running = true;
      void this.runDue().finally(() => {
        this.running = false;
      });
    }, this.tickMs);
    this.handle.unref();
  }
}
