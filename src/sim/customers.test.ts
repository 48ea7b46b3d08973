import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../core/clock.js';
import { ManualClock } from '../clock/clocks.js';
import { VirtualTicker } from '../clock/ticker.js';
import { createCustomers, planAnswer, type PostJson } from './customers.js';
import type { DeliveredNotification } from './notifications.js';
import type { Persona } from './vehicles.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const VIN = 'PWMAS1C14A1000007';
const tickers: VirtualTicker[] = [];

afterEach(() => {
  for (const t of tickers.splice(0)) t.stop();
});

function note(overrides: Partial<DeliveredNotification> = {}): DeliveredNotification {
  return {
    notification_id: 'n-1',
    vin: VIN,
    correlation_id: `workflow-${VIN}-1`,
    channel: 'email',
    kind: 'engagement',
    urgency: 'medium',
    subject: 's',
    body: 'b',
    received_at: new Date(T0).toISOString(),
    delivered_to: 'x@example.com',
    ...overrides,
  };
}

function setup(persona: Persona, post: PostJson) {
  const clock = new ManualClock(T0);
  const ticker = new VirtualTicker(clock, 60_000);
  tickers.push(ticker);
  const sim = createCustomers({ clock, ticker, personaOf: () => persona, post, seed: 5 });
  /** Steps virtual time in small increments, running due tasks, until `until`. */
  const runUntil = async (until: number): Promise<void> => {
    while (clock.now() < until) {
      clock.advance(Math.min(MINUTE, until - clock.now()));
      await ticker.runDue();
    }
  };
  return { clock, ticker, sim, runUntil };
}

describe('simulated customers', () => {
  it('a prompt customer answers a medium message via POST /api/customer-responses within 1-3 h', async () => {
    const calls: { url: string; body: unknown; at: number }[] = [];
    const { clock, sim, runUntil } = setup('prompt', async (url, body) => {
      calls.push({ url, body, at: clock.now() });
      return { status: 201 };
    });
    sim.onNotification(note());
    await runUntil(T0 + 59 * MINUTE);
    expect(calls).toHaveLength(0);
    await runUntil(T0 + 3 * HOUR + MINUTE);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('http://127.0.0.1:3000/api/customer-responses');
    expect(calls[0]?.body).toMatchObject({ vin: VIN, correlation_id: `workflow-${VIN}-1` });
    expect(['accept', 'decline']).toContain((calls[0]?.body as { decision: string }).decision);
    expect(sim.answered).toHaveLength(1);
  });

  it('answers critical messages faster than medium ones', () => {
    for (let i = 0; i < 200; i++) {
      const id = `n-${i}`;
      const critical = planAnswer('busy', { notification_id: id, kind: 'engagement', urgency: 'critical' }, 5, 1);
      const medium = planAnswer('busy', { notification_id: id, kind: 'engagement', urgency: 'medium' }, 5, 1);
      expect(critical.delayMs).toBeLessThan(medium.delayMs ?? 0);
      expect(medium.delayMs).toBeGreaterThanOrEqual(6 * HOUR);
      expect(medium.delayMs).toBeLessThanOrEqual(20 * HOUR);
    }
  });

  it('follows the personas: prompt accepts ~95%, reluctant declines ~40%, unreachable never answers', () => {
    const acceptShare = (p: Persona): number => {
      let yes = 0;
      for (let i = 0; i < 2000; i++) {
        if (planAnswer(p, { notification_id: `id-${i}`, kind: 'engagement', urgency: 'high' }, 9, 1).decision === 'accept') yes++;
      }
      return yes / 2000;
    };
    expect(acceptShare('prompt')).toBeGreaterThan(0.92);
    expect(acceptShare('reluctant')).toBeGreaterThan(0.55);
    expect(acceptShare('reluctant')).toBeLessThan(0.65);
    expect(planAnswer('unreachable', { notification_id: 'x', kind: 'engagement', urgency: 'critical' }, 9, 0).delayMs).toBeNull();
    // Deterministic per seed and notification.
    const a = planAnswer('busy', { notification_id: 'same', kind: 'engagement', urgency: 'high' }, 3, 0);
    expect(planAnswer('busy', { notification_id: 'same', kind: 'engagement', urgency: 'high' }, 3, 0)).toEqual(a);
  });

  it('sends feedback ratings to POST /api/feedback', async () => {
    const calls: { url: string; body: unknown }[] = [];
    const { sim, runUntil } = setup('prompt', async (url, body) => {
      calls.push({ url, body });
      return { status: 200 };
    });
    for (let i = 0; i < 10; i++) sim.onNotification(note({ notification_id: `f-${i}`, kind: 'feedback', correlation_id: `c-${i}` }));
    await runUntil(T0 + 25 * HOUR);
    expect(calls.length).toBeGreaterThanOrEqual(7);
    for (const c of calls) {
      expect(c.url).toBe('http://127.0.0.1:3000/api/feedback');
      const rating = (c.body as { rating: number }).rating;
      expect(rating).toBeGreaterThanOrEqual(4);
      expect(rating).toBeLessThanOrEqual(5);
    }
  });

  it('retries with back-off in virtual time while Pitwall is down, then stops after success', async () => {
    const attempts: number[] = [];
    const { clock, sim, runUntil } = setup('prompt', async () => {
      attempts.push(clock.now());
      if (attempts.length === 1) throw new Error('ECONNREFUSED');
      if (attempts.length === 2) return { status: 503 };
      return { status: 201 };
    });
    sim.onNotification(note({ urgency: 'critical' }));
    await runUntil(T0 + 2 * HOUR);
    expect(attempts).toHaveLength(3);
    const [first = 0, second = 0, third = 0] = attempts;
    expect(second - first).toBe(MINUTE);
    expect(third - second).toBe(5 * MINUTE);
    expect(sim.answered).toEqual([{ vin: VIN, notification_id: 'n-1', path: '/api/customer-responses', status: 201 }]);
  });

  it('does not retry a 4xx, and ignores reminders once it has accepted', async () => {
    let calls = 0;
    const { sim, runUntil } = setup('prompt', async () => {
      calls++;
      return { status: 409 };
    });
    sim.onNotification(note({ notification_id: 'first', urgency: 'high' }));
    await runUntil(T0 + 4 * HOUR);
    sim.onNotification(note({ notification_id: 'reminder', urgency: 'high' }));
    await runUntil(T0 + 10 * HOUR);
    const accepted = planAnswer('prompt', { notification_id: 'first', kind: 'engagement', urgency: 'high' }, 5, 0).decision === 'accept';
    expect(calls).toBe(accepted ? 1 : 2);
  });

  it('reads one message sent on several channels once', async () => {
    let calls = 0;
    const { sim, runUntil } = setup('prompt', async () => {
      calls++;
      return { status: 201 };
    });
    for (const channel of ['email', 'sms', 'push'] as const) {
      sim.onNotification(note({ notification_id: `corr-1:engagement:1:${channel}`, channel, urgency: 'critical' }));
    }
    await runUntil(T0 + 6 * HOUR);
    expect(calls).toBe(1);
  });

  it('an unreachable owner never answers', async () => {
    let calls = 0;
    const { sim, runUntil } = setup('unreachable', async () => {
      calls++;
      return { status: 200 };
    });
    sim.onNotification(note({ urgency: 'critical' }));
    sim.onNotification(note({ notification_id: 'f', kind: 'feedback' }));
    await runUntil(T0 + 48 * HOUR);
    expect(calls).toBe(0);
  });
});
