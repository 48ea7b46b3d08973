import { describe, expect, it } from 'vitest';
import { CircuitOpenError, isOutage, TelematicsCircuit, type CircuitState } from './telematics-circuit.js';
import { OversizedBodyError, TelematicsError } from './telematics-client.js';

const down = () => Promise.reject(new TelematicsError('GET /x: connect ECONNREFUSED', null));
const notFound = () => Promise.reject(new TelematicsError('GET /x answered 404', 404));
const up = () => Promise.resolve('ok');

function circuit() {
  let t = 0;
  const changes: CircuitState[] = [];
  const c = new TelematicsCircuit({
    failureThreshold: 3,
    openMs: 1000,
    maxOpenMs: 4000,
    now: () => t,
    onChange: (s) => changes.push(s),
  });
  return { c, changes, advance: (ms: number) => (t += ms) };
}

describe('TelematicsCircuit', () => {
  it('tells an outage from an answer about one request', () => {
    expect(isOutage(new TelematicsError('timed out', null))).toBe(true);
    expect(isOutage(new TelematicsError('answered 503', 503))).toBe(true);
    expect(isOutage(new TelematicsError('answered 429', 429))).toBe(true);
    expect(isOutage(new TelematicsError('answered 404', 404))).toBe(false);
    expect(isOutage(new OversizedBodyError('too big', 1e9))).toBe(false);
    expect(isOutage(new Error('a bug'))).toBe(false);
  });

  it('opens after failures in a row and then refuses calls without making them', async () => {
    const { c, changes } = circuit();
    for (let i = 0; i < 3; i++) await expect(c.call(down)).rejects.toThrow('ECONNREFUSED');
    expect(c.state).toBe('open');
    expect(changes).toEqual(['open']);
    let called = false;
    await expect(
      c.call(() => {
        called = true;
        return up();
      }),
    ).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
    expect(c.callable).toBe(false);
    expect(c.retryInMs()).toBe(1000);
  });

  it('a call that gets an answer, even an error for its own request, resets the count', async () => {
    const { c } = circuit();
    await expect(c.call(down)).rejects.toThrow();
    await expect(c.call(down)).rejects.toThrow();
    await expect(c.call(notFound)).rejects.toThrow('404');
    await expect(c.call(down)).rejects.toThrow();
    await expect(c.call(down)).rejects.toThrow();
    expect(c.state).toBe('closed');
    expect(c.snapshot().consecutive_failures).toBe(2);
  });

  it('lets one probe through when the back-off is over; a failed probe doubles the back-off, a good one closes', async () => {
    const { c, changes, advance } = circuit();
    for (let i = 0; i < 3; i++) await expect(c.call(down)).rejects.toThrow();
    advance(1000);
    expect(c.callable).toBe(true);
    let release!: () => void;
    const probe = c.call(() => new Promise<never>((_, reject) => (release = () => reject(new TelematicsError('timed out', null)))));
    // Only one probe at a time.
    await expect(c.call(up)).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await expect(probe).rejects.toThrow('timed out');
    expect(c.state).toBe('open');
    expect(c.retryInMs()).toBe(2000);
    advance(2000);
    await expect(c.call(down)).rejects.toThrow();
    expect(c.retryInMs()).toBe(4000);
    advance(4000);
    await expect(c.call(down)).rejects.toThrow();
    expect(c.retryInMs()).toBe(4000);
    advance(4000);
    await expect(c.call(up)).resolves.toBe('ok');
    expect(c.state).toBe('closed');
    expect(changes).toEqual(['open', 'half_open', 'open', 'half_open', 'open', 'half_open', 'open', 'half_open', 'closed']);
    // Closed again, the back-off starts from the beginning next time.
    for (let i = 0; i < 3; i++) await expect(c.call(down)).rejects.toThrow();
    expect(c.retryInMs()).toBe(1000);
  });

  it('wraps a client so that the poll and the history fetch share one circuit', async () => {
    const { c } = circuit();
    let calls = 0;
    const client = c.wrap({
      fetchPage: () => {
        calls += 1;
        return down();
      },
      fetchHistory: () => {
        calls += 1;
        return down();
      },
    });
    await expect(client.fetchPage(null, 10)).rejects.toThrow();
    await expect(client.fetchHistory('V', 0, 10)).rejects.toThrow();
    await expect(client.fetchHistory('W', 0, 10)).rejects.toThrow();
    await expect(client.fetchPage(null, 10)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(3);
  });
});
