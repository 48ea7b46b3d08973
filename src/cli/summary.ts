/** The live one-line summary of `pitwall start`: vehicles, workflows by state, engaged, booked, errors. */
import pc from 'picocolors';
import type { Clock } from '../core/clock.js';
import type { MainOrchestrationLoop } from '../orchestrator/main-loop.js';
import type { Statistics } from '../orchestrator/status.js';

const SHORT: Record<string, string> = {
  idle: 'idle',
  polling_telemetry: 'poll',
  analyzing_data: 'analyse',
  assessing_urgency: 'assess',
  engaging_customer: 'engage',
  scheduling_service: 'book',
  awaiting_service: 'await',
  collecting_feedback: 'feedback',
  completed: 'done',
  error: 'error',
};

export function formatSummary(s: Statistics, virtualNow: number): string {
  const states = Object.entries(s.workflow_states)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${SHORT[k] ?? k} ${n}`)
    .join(' · ');
  const rejected = Object.values(s.telemetry_rejected).reduce((a, b) => a + b, 0);
  const when = new Date(virtualNow).toISOString().slice(0, 16).replace('T', ' ');
  return [
    pc.dim(when),
    `vehicles ${s.total_vehicles_processed}`,
    states || 'no workflows yet',
    `engaged ${s.customers_engaged}`,
    `booked ${s.appointments_scheduled}`,
    `prevented ${s.failures_prevented}`,
    s.errors_encountered > 0 ? pc.yellow(`errors ${s.errors_encountered}`) : 'errors 0',
    rejected > 0 ? `rejected ${rejected}` : '',
  ]
    .filter(Boolean)
    .join(' | ');
}

export function startSummary(opts: {
  loop: Pick<MainOrchestrationLoop, 'getStatistics'>;
  clock: Clock;
  out: NodeJS.WriteStream;
  intervalMs: number;
}): { stop(): void } {
  const tty = opts.out.isTTY === true;
  let last = 0;
  const timer = setInterval(() => {
    void opts.loop.getStatistics().then(
      (s) => {
        const line = formatSummary(s, opts.clock.now());
        if (tty) {
          const width = opts.out.columns ?? 160;
          opts.out.write(`\r\x1b[2K${line.length > width + 20 ? line.slice(0, width + 20) : line}`);
        } else if (Date.now() - last >= 10_000) {
          last = Date.now();
          opts.out.write(`${line}\n`);
        }
      },
      () => undefined,
    );
  }, opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
