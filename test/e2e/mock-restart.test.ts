/**
 * The mocks run on their own as real processes, are killed with SIGKILL and restarted on other ports:
 * what they acknowledged before the kill (a repair, a notification, a booking) is still there after it,
 * because each keeps its state in the data directory under a name that does not depend on the port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PitwallProcess, freePort, getJson, postJson, runCli, tempDir } from './harness.js';

interface Truth {
  vin: string;
  healthy: boolean;
  faults: { component: string; onset_at: string; repaired_at?: string }[];
}

const started: PitwallProcess[] = [];
const dirs: { remove(): void }[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await p.kill();
  for (const d of dirs.splice(0)) d.remove();
});

function mock(which: 'telematics' | 'scheduler', port: number, args: string[]): PitwallProcess {
  const p = new PitwallProcess(['mock', which, '--port', String(port), ...args]);
  started.push(p);
  return p;
}

/** Distinct free ports (asked one after the other, so none is handed out twice). */
async function ports(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

async function postWithKey(url: string, body: unknown, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('mocks restarted on their own after SIGKILL, on other ports', () => {
  it('keep the repaired vehicles, the fleet origin, the notification record and the appointments', async () => {
    const data = tempDir('mock-restart');
    dirs.push(data);
    const fleetArgs = ['--vehicles', '12', '--seed', '17', '--data-dir', data.dir];
    const [telematicsA, schedulerA, telematicsB, schedulerB] = await ports(4);
    const tUrl = (port: number) => `http://127.0.0.1:${port}`;

    // Both mocks share one data directory, as in the README's distributed set-up.
    const telematics = mock('telematics', telematicsA!, fleetArgs);
    await telematics.waitForOutput(/listening on/);
    const scheduler = mock('scheduler', schedulerA!, ['--telematics', tUrl(telematicsA!), '--data-dir', data.dir]);
    await scheduler.waitForOutput(/listening on/);

    const before = (await getJson<{ vehicles: Truth[] }>(`${tUrl(telematicsA!)}/sim/ground-truth`)).body.vehicles;
    const faulty = before.find((v) => !v.healthy)!;
    const component = faulty.faults[0]!.component;
    const serviced = await postJson<{ findings: unknown[] }>(`${tUrl(telematicsA!)}/sim/vehicles/${faulty.vin}/service`, { components: [component] });
    expect(serviced.body.findings).toEqual([{ component, finding: 'confirmed' }]);
    const notification = {
      notification_id: 'case-1:engagement:1:email', vin: faulty.vin, correlation_id: 'case-1', channel: 'email',
      kind: 'engagement', urgency: 'high', subject: 'Your brakes', body: 'Please book a service.',
    };
    expect((await postJson(`${tUrl(telematicsA!)}/sim/notifications`, notification)).status).toBe(202);

    const now = Date.now();
    const slots = await getJson<{ slots: { center_id: string; start: string }[] }>(
      `${tUrl(schedulerA!)}/api/availability?from=${new Date(now + 86_400_000).toISOString()}&to=${new Date(now + 8 * 86_400_000).toISOString()}&component=${component}&limit=1`,
    );
    const slot = slots.body.slots[0]!;
    const booking = { vin: faulty.vin, center_id: slot.center_id, start: slot.start, components: [component], urgency: 'high', correlation_id: 'case-1' };
    const booked = await postWithKey(`${tUrl(schedulerA!)}/api/appointments`, booking, 'case-1:book');
    expect(booked.status).toBe(201);

    await telematics.kill('SIGKILL');
    await scheduler.kill('SIGKILL');

    const telematics2 = mock('telematics', telematicsB!, fleetArgs);
    await telematics2.waitForOutput(/listening on/);
    const scheduler2 = mock('scheduler', schedulerB!, ['--telematics', tUrl(telematicsB!), '--data-dir', data.dir]);
    await scheduler2.waitForOutput(/listening on/);

    const after = (await getJson<{ vehicles: Truth[] }>(`${tUrl(telematicsB!)}/sim/ground-truth?vin=${faulty.vin}`)).body.vehicles[0]!;
    // Same origin (the faults are where they were), and the repaired fault stays repaired.
    expect(after.faults.map((f) => f.onset_at)).toEqual(faulty.faults.map((f) => f.onset_at));
    expect(after.faults.find((f) => f.component === component)?.repaired_at).toEqual(expect.any(String));
    const again = await postJson<{ findings: unknown[] }>(`${tUrl(telematicsB!)}/sim/vehicles/${faulty.vin}/service`, { components: [component] });
    expect(again.body.findings).toEqual([{ component, finding: 'not_found' }]);
    const replay = await postJson<{ status: string }>(`${tUrl(telematicsB!)}/sim/notifications`, notification);
    expect(replay.status).toBe(200);
    expect(replay.body.status).toBe('duplicate');

    const appointmentId = booked.body['appointment_id'] as string;
    expect((await getJson(`${tUrl(schedulerB!)}/api/appointments/${appointmentId}`)).body).toEqual(booked.body);
    const rebooked = await postWithKey(`${tUrl(schedulerB!)}/api/appointments`, booking, 'case-1:book');
    expect(rebooked.status).toBe(200);
    expect(rebooked.body['appointment_id']).toBe(appointmentId);

    // What each found is said at start-up.
    expect(telematics.output).toMatch(/state .*mock-telematics\.jsonl \(new, fleet origin/);
    expect(scheduler.output).toMatch(/state .*mock-scheduler\.json \(new\)/);
    expect(telematics2.output).toMatch(/state .*mock-telematics\.jsonl \(resumed 1 services and 1 notifications, fleet origin/);
    expect(scheduler2.output).toMatch(/state .*mock-scheduler\.json \(resumed 1 appointments\)/);
  });

  it('refuse a second mock of the same kind on the same data directory, and take over the lock of a killed one', async () => {
    const data = tempDir('mock-lock');
    dirs.push(data);
    const [portA, portB, portC] = await ports(3);
    const first = mock('telematics', portA!, ['--data-dir', data.dir]);
    await first.waitForOutput(/listening on/);
    // A scheduler mock beside it is no conflict: each mock has its own state file and lock.
    await mock('scheduler', portC!, ['--data-dir', data.dir]).waitForOutput(/listening on/);

    const intruder = mock('telematics', portB!, ['--data-dir', data.dir]);
    const code = await Promise.race([intruder.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code).toBe(1);
    expect(intruder.output).toMatch(
      new RegExp(`another telematics mock \\(pid ${first.pid}\\) keeps its state in .*mock-telematics\\.jsonl; stop it, or give this one its own --data-dir`),
    );

    await first.kill('SIGKILL');
    const successor = mock('telematics', portB!, ['--data-dir', data.dir]);
    await successor.waitForOutput(/listening on/);
  });

  it('start and orchestrator share one fleet-polling default', async () => {
    const pollingDefault = (help: string) => help.match(/--polling-interval <N>[\s\S]*?\(default: ([^)]+)\)/)?.[1];
    const start = await runCli(['start', '--help']);
    const orchestrator = await runCli(['orchestrator', '--help']);
    expect(pollingDefault(start.stdout)).toBe('60');
    expect(pollingDefault(orchestrator.stdout)).toBe('60');
  });
});
