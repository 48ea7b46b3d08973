import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSchedulerClient, type FetchFn } from './client.js';
import { NotFoundError, SchedulerUnavailableError, SlotUnavailableError, InvalidRequestError, NotReschedulableError } from './errors.js';
import type { BookingRequest } from './scheduler-api.js';
import { hourlySlots, startStubScheduler, type StubScheduler } from './testing/stub-scheduler.js';

const T = Date.UTC(2025, 0, 6, 8);
const VIN = '1HGCM82633A004352';
let stub: StubScheduler;

beforeAll(async () => {
  stub = await startStubScheduler(hourlySlots(T, 10, ['c-a', 'c-b']));
});
afterAll(async () => {
  await stub.close();
});

const req = (start: number, center = 'c-a'): BookingRequest => ({ vin: VIN, center_id: center, start: new Date(start).toISOString(), components: ['brakes'], urgency: 'high' });

describe('scheduler client', () => {
  it('lists availability in a window', async () => {
    const client = createSchedulerClient(stub.url);
    const slots = await client.availability({ from: new Date(T).toISOString(), to: new Date(T + 2 * 3600_000).toISOString(), components: ['brakes'] });
    expect(slots).toHaveLength(4);
  });

  it('books once per idempotency key and tells a replay from a new booking', async () => {
    const client = createSchedulerClient(stub.url);
    const first = await client.book(req(T + 3 * 3600_000), 'key-1');
    const again = await client.book(req(T + 4 * 3600_000), 'key-1');
    expect(first.replayed).toBe(false);
    expect(again.replayed).toBe(true);
    expect(again.appointment.appointment_id).toBe(first.appointment.appointment_id);
    expect(stub.bookings.at(-1)!.key).toBe('key-1');
    expect((await client.get(first.appointment.appointment_id)).start).toBe(first.appointment.start);
  });

  it('maps 409, 404 and 400 to error classes with stable codes', async () => {
    const client = createSchedulerClient(stub.url);
    stub.stolen.add(`c-b@${new Date(T).toISOString()}`);
    const err = await client.book(req(T, 'c-b'), 'key-2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlotUnavailableError);
    expect(err).toMatchObject({ code: 'slot_unavailable', status: 409 });
    await expect(client.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    const { appointment } = await client.book(req(T + 5 * 3600_000), 'key-3');
    await client.cancel(appointment.appointment_id);
    await expect(client.reschedule(appointment.appointment_id, { start: new Date(T).toISOString() })).rejects.toBeInstanceOf(NotReschedulableError);
    const noKey: FetchFn = (url, init) => fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
    await expect(createSchedulerClient(stub.url, { fetch: noKey }).book(req(T), 'k')).rejects.toMatchObject({ code: 'invalid_request', field: 'Idempotency-Key' });
    expect(new InvalidRequestError('x').status).toBe(400);
  });

  it('reports 5xx, refused connections and timeouts as SchedulerUnavailableError', async () => {
    stub.down = true;
    await expect(createSchedulerClient(stub.url).centers()).rejects.toMatchObject({ code: 'scheduler_unavailable', status: 503 });
    stub.down = false;
    await expect(createSchedulerClient('http://127.0.0.1:1').centers()).rejects.toBeInstanceOf(SchedulerUnavailableError);
    const hanging: FetchFn = (_u, init) => new Promise((_r, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    vi.useFakeTimers();
    try {
      const pending = createSchedulerClient(stub.url, { fetch: hanging, timeoutMs: 1000 }).centers();
      const settled = expect(pending).rejects.toThrow(/timed out after 1000 ms/);
      await vi.advanceTimersByTimeAsync(1000);
      await settled;
    } finally {
      vi.useRealTimers();
    }
  });
});
