import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpGateway, type FetchFn } from './gateway.js';
import type { Notification } from './ports.js';

const n: Notification = {
  notification_id: 'wf-1:engage:1:sms',
  vin: '1HGCM82633A004352',
  correlation_id: 'wf-1',
  channel: 'sms',
  kind: 'engagement',
  urgency: 'high',
  subject: 's',
  body: 'b',
  respond_by: '2025-01-02T10:00:00.000Z',
};

function recordingFetch(status: number) {
  const calls: { url: string; body: unknown }[] = [];
  const fn: FetchFn = async (url, init) => {
    calls.push({ url, body: JSON.parse(String(init.body)) });
    return new Response(status === 202 ? '{"status":"accepted"}' : '{"error":"not_found"}', { status });
  };
  return { calls, fn };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('HTTP notification gateway', () => {
  it('POSTs the notification as JSON to /sim/notifications and sends an accepted id only once', async () => {
    const f = recordingFetch(202);
    const gw = createHttpGateway('http://127.0.0.1:9/', { fetch: f.fn });
    expect(await gw.send(n)).toEqual({ accepted: true });
    expect(await gw.send(n)).toEqual({ accepted: true });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]!.url).toBe('http://127.0.0.1:9/sim/notifications');
    expect(f.calls[0]!.body).toEqual(n);
  });

  it('reports a 4xx as a refusal and a 5xx as retryable', async () => {
    expect(await createHttpGateway('http://x', { fetch: recordingFetch(404).fn }).send(n)).toMatchObject({ accepted: false, retryable: false });
    expect(await createHttpGateway('http://x', { fetch: recordingFetch(503).fn }).send(n)).toMatchObject({ accepted: false, retryable: true });
  });

  it('aborts a send that takes longer than the timeout', async () => {
    vi.useFakeTimers();
    const hanging: FetchFn = (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const pending = createHttpGateway('http://x', { fetch: hanging, timeoutMs: 1000 }).send(n);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await pending).toEqual({ accepted: false, error: 'provider unreachable: timed out after 1000 ms', retryable: true });
  });
});
