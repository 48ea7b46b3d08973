/**
 * End to end, with real processes over HTTP on a virtual clock: the mock telematics and scheduler APIs
 * and the orchestrator started by the CLI, customers answering through Pitwall's own API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, assertNoDoubleBooking, assertNoDuplicateNotifications } from './cluster.js';
import { postJson, waitUntil } from './harness.js';

/** Six virtual hours per real second: a week of fleet life in about half a minute. */
const SPEED = 21_600;

describe('the whole loop, across processes', () => {
  let cluster: Cluster | null = null;
  afterEach(async () => {
    await cluster?.stop();
    cluster = null;
  });

  it('carries every planted critical and high fault through booking, service and feedback to completed', async () => {
    cluster = new Cluster({ vehicles: 16, seed: 11, speed: SPEED, personas: 'dependable' });
    await cluster.start();
    const urgent = await cluster.urgentFaults();
    expect(urgent.length).toBeGreaterThanOrEqual(2);

    const done = await cluster.waitUntilServiced(urgent, 180_000);
    for (const f of urgent) {
      const c = done.find((w) => w.vin === f.vin && w.outcome === 'serviced')!;
      const status = await cluster.caseStatus(c.vin, c.correlation_id);
      const path = status.state_history.map((h) => h.to_state);
      // The real path of a case, each step caused by a real event.
      for (const state of ['polling_telemetry', 'analyzing_data', 'assessing_urgency', 'engaging_customer', 'scheduling_service', 'awaiting_service', 'collecting_feedback', 'completed']) {
        expect(path, `${c.correlation_id}: ${path.join(' → ')}`).toContain(state);
      }
      expect(c.urgency_level === 'critical' || c.urgency_level === 'high' || c.urgency_level === 'medium').toBe(true);
    }

    const stats = await cluster.statistics();
    expect(stats['total_vehicles_processed']).toBe(16);
    expect(stats['appointments_scheduled']).toBeGreaterThanOrEqual(urgent.length);
    expect(stats['failures_prevented']).toBeGreaterThanOrEqual(urgent.length);
    expect(stats['customers_engaged']).toBeGreaterThanOrEqual(urgent.length);
    // No healthy vehicle is ever rated critical or high.
    const healthy = (await cluster.groundTruth()).filter((v) => v.healthy).map((v) => v.vin);
    const alarmed = (await cluster.workflows()).filter((w) => healthy.includes(w.vin) && (w.urgency_level === 'critical' || w.urgency_level === 'high'));
    expect(alarmed).toEqual([]);
    // A repaired vehicle is not sent back for the fault just fixed: its next cases read only newer telemetry.
    for (const f of urgent) {
      const cases = done.filter((w) => w.vin === f.vin && w.components.includes(f.component) && w.outcome === 'serviced');
      expect(cases.filter((w) => w.findings.every((x) => x.finding === 'not_found')), `${f.vin} ${f.component}`).toEqual([]);
    }

    await assertNoDuplicateNotifications(cluster);
    await assertNoDoubleBooking(cluster);
  }, 240_000);

  it('waits out a telematics outage as one circuit: no case fails for it, and every case resumes afterwards', async () => {
    cluster = new Cluster({ vehicles: 12, seed: 5, speed: SPEED, personas: 'dependable' });
    await cluster.start();
    const urgent = await cluster.urgentFaults();
    await waitUntil(async () => (await cluster!.statistics())['customers_engaged'] as number > 0, { timeoutMs: 60_000, what: 'a first engagement' });

    // 20 s of real time (five virtual days) of 503s from every telematics route: longer than the state
    // timeout's floor and than all retries' back-off together, so each case would fail if it counted.
    const outage = await postJson<{ outage_until: string }>(`${cluster.telematicsUrl}/sim/outage`, { duration_ms: 20 * SPEED * 1000 });
    expect(outage.status).toBe(200);
    await waitUntil(async () => (await cluster!.health()).status === 'degraded', { timeoutMs: 30_000, what: 'health to say degraded' });
    await waitUntil(async () => ((await cluster!.statistics())['telematics_poll_failures'] as number) > 0, {
      timeoutMs: 30_000,
      what: 'poll failures to be counted',
    });
    await waitUntil(async () => (await cluster!.health()).status === 'ok', { timeoutMs: 60_000, what: 'the circuit to close' });

    // Afterwards the same processes finish every urgent case: nothing was lost to the outage, and no
    // case spent a retry on it.
    await cluster.waitUntilServiced(urgent, 180_000);
    expect(cluster.orchestrator.child.exitCode).toBeNull();
    const hurt: string[] = [];
    for (const w of await cluster.workflows()) {
      const reasons = (await cluster.caseStatus(w.vin, w.correlation_id)).state_history.map((h) => h.reason);
      if (w.outcome === 'failed' || reasons.some((r) => /telemetry poll failed|timeout in polling_telemetry/.test(r)))
        hurt.push(`${w.correlation_id}: ${reasons.join(' > ')}`);
    }
    expect(hurt).toEqual([]);
    expect((await cluster.statistics())['failed_workflows']).toBe(0);
    await assertNoDuplicateNotifications(cluster);
  }, 240_000);

  it('loses no workflow, notifies no customer twice and books no slot twice when the orchestrator is killed mid-run', async () => {
    // The fleet's own mix of owners: some answer late, some decline, some never answer.
    cluster = new Cluster({ vehicles: 16, seed: 23, speed: SPEED });
    await cluster.start();
    const urgent = await cluster.urgentFaults();
    // Kill it hard while cases are in flight: some engaged, some already booked.
    await waitUntil(async () => ((await cluster!.statistics())['appointments_scheduled'] as number) >= 1, {
      timeoutMs: 90_000,
      what: 'a first booking',
    });
    const before = await cluster.workflows();
    await cluster.orchestrator.kill('SIGKILL');

    await cluster.startOrchestrator();
    const after = await cluster.workflows();
    for (const w of before) {
      expect(after.some((a) => a.correlation_id === w.correlation_id), `${w.correlation_id} survives the restart`).toBe(true);
    }
    await cluster.waitUntilSettled(urgent, 180_000);
    await assertNoDuplicateNotifications(cluster);
    await assertNoDoubleBooking(cluster);
  }, 240_000);
});
