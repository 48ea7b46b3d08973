/**
 * The same loop on NATS JetStream and PostgreSQL (issue 8): two orchestrator processes and two of each
 * agent, started by the CLI over the shared services (scripts/services.sh), compared with the embedded
 * mode on the same seed, and one orchestrator killed mid-run. Outcomes are read from Pitwall's API and
 * checked against the mocks' own records (the provider's notifications, the scheduler's appointments).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, assertNoCaseStuck, assertNoDoubleBooking, assertNoDuplicateNotifications, type WorkflowSummary } from './cluster.js';
import { waitUntil } from './harness.js';
import { distributedCorner, distributedServicesUp, type DistributedCorner } from './services.js';

/** Two virtual hours per real second: urgency is read off days to failure, so both runs must analyse at nearly the same virtual time. */
const SPEED = 7_200;
const SETTLE_MS = 150_000;

const up = await distributedServicesUp();

/** Each urgent fault with the urgency of the first case that named its component. */
function detections(faults: { vin: string; component: string }[], cases: WorkflowSummary[]): string[] {
  return faults
    .map((f) => {
      const c = cases.filter((w) => w.vin === f.vin && w.components.includes(f.component)).sort((a, b) => (a.correlation_id < b.correlation_id ? -1 : 1))[0];
      return `${f.vin} ${f.component} ${c?.urgency_level ?? 'not detected'}`;
    })
    .sort();
}

/** VINs with a case in a terminal state. */
async function terminalVins(c: Cluster): Promise<Set<string>> {
  return new Set((await c.workflows('completed')).map((w) => w.vin));
}

(up ? describe : describe.skip)('the whole loop on NATS JetStream and PostgreSQL', () => {
  const running: Cluster[] = [];
  let corner: DistributedCorner | null = null;
  afterEach(async () => {
    for (const c of running.splice(0)) await c.stop();
    await corner?.remove();
    corner = null;
  });

  function distributed(opts: { vehicles: number; seed: number; personas?: string }): Cluster {
    corner = distributedCorner();
    const c = new Cluster({
      ...opts,
      speed: SPEED,
      distributed: { orchestrators: 2, agents: 2, busUrl: corner.busUrl, dbUrl: corner.dbUrl, env: corner.env },
    });
    running.push(c);
    return c;
  }

  it('finds the same faults with the same urgency as the embedded mode, and brings every case it ends to an end too', async () => {
    const opts = { vehicles: 12, seed: 11, personas: 'dependable' };
    const embedded = new Cluster({ ...opts, speed: SPEED });
    running.push(embedded);
    await embedded.start();
    const urgent = await embedded.urgentFaults();
    expect(urgent.length).toBeGreaterThanOrEqual(2);
    await embedded.waitUntilServiced(urgent, SETTLE_MS);
    const embeddedDone = await terminalVins(embedded);
    const embeddedDetections = detections(urgent, await embedded.workflows());
    await embedded.stop();
    running.splice(running.indexOf(embedded), 1);

    const cluster = distributed(opts);
    await cluster.start();
    expect(cluster.orchestrators).toHaveLength(2);
    expect(cluster.agents).toHaveLength(8);
    // The same seed plants the same faults.
    expect(await cluster.urgentFaults()).toEqual(urgent);
    await cluster.waitUntilServiced(urgent, SETTLE_MS);
    expect(detections(urgent, await cluster.workflows())).toEqual(embeddedDetections);
    // Every vehicle the embedded run brought to an end comes to one here too.
    await waitUntil(
      async () => {
        const done = await terminalVins(cluster);
        return [...embeddedDone].every((vin) => done.has(vin));
      },
      { timeoutMs: SETTLE_MS, intervalMs: 500, what: `a terminal case for each of ${[...embeddedDone].join(', ')}` },
    );
    await assertNoCaseStuck(cluster);
    await assertNoDuplicateNotifications(cluster);
    await assertNoDoubleBooking(cluster);
    // Both orchestrators worked: each holds a share of the fleet's partitions.
    for (const o of cluster.orchestrators) expect(o.child.exitCode, o.output.slice(-500)).toBeNull();
  }, 420_000);

  it('loses no workflow, notifies no customer twice and books no slot twice when one of two orchestrators is killed mid-run', async () => {
    // The fleet's own mix of owners: some answer late, some decline, some never answer.
    const cluster = distributed({ vehicles: 16, seed: 23 });
    await cluster.start();
    const urgent = await cluster.urgentFaults();
    await waitUntil(async () => ((await cluster.statistics())['customers_engaged'] as number) >= 1, {
      timeoutMs: 90_000,
      what: 'a first engagement',
    });
    const before = await cluster.workflows();
    // Orchestrator 2 (the mocks talk to 1's API) dies with work in hand; 1 takes its vehicles over.
    await cluster.orchestrators[1]!.kill('SIGKILL');
    const after = await cluster.workflows();
    for (const w of before) {
      expect(after.some((a) => a.correlation_id === w.correlation_id), `${w.correlation_id} survives`).toBe(true);
    }
    await cluster.waitUntilSettled(urgent, SETTLE_MS);
    await assertNoCaseStuck(cluster);
    await assertNoDuplicateNotifications(cluster);
    await assertNoDoubleBooking(cluster);
  }, 300_000);
});
