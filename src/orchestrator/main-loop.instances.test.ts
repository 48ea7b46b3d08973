/**
 * Two orchestrator instances on one store and one bus (issue 8, per-vehicle order across instances):
 * each shares the inbound channels' queue group, so any message may reach either; the VIN partitions
 * decide which instance works on which vehicle. On a SQLite file, and on PostgreSQL when a server
 * answers (PITWALL_TEST_PG_URL; a schema per test, dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { HOUR, MINUTE } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { AnalysisRequest, EngagementRequest } from '../core/payloads.js';
import { MemoryBus } from '../bus/memory.js';
import { EnvelopeFactory } from '../bus/signing.js';
import { createSqliteStore } from '../store/index.js';
import { VIN_PARTITIONS, partitionOf } from '../store/partition.js';
import type { Store } from '../store/port.js';
import { dropSchema } from '../testing/corner.js';
import { requireService, serviceUrl } from '../testing/services.js';
import { MainOrchestrationLoop, type OrchestratorOptions } from './main-loop.js';
import { TEST_KEYS, brakesDueResult, testLoopOptions, until } from './testing/loop.js';
import type { TelematicsClient } from './telematics-client.js';

const T0 = Date.parse('2026-05-04T08:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'pitwall-instances-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

/** A store shared by the instances of one test: `open` gives each instance its own handle, as processes have. */
interface Backend {
  name: string;
  shared(): { open(): Promise<Store>; drop(): Promise<void> };
}

const sqlite: Backend = {
  name: 'SQLite file',
  shared() {
    const path = join(dir, `store-${++fileNo}.db`);
    return { open: async () => createSqliteStore({ path }), drop: async () => undefined };
  },
};

const pgUrl = serviceUrl('pg');
const postgres: Backend = {
  name: 'PostgreSQL',
  shared() {
    const schema = `pitwall_instances_${randomBytes(4).toString('hex')}`;
    return {
      open: async () => (await import('../store/postgres/index.js')).createPostgresStore({ url: pgUrl, schema, poolSize: 4 }),
      drop: () => dropSchema(pgUrl, schema),
    };
  },
};
const backends = (await requireService('pg', pgUrl)) ? [sqlite, postgres] : [sqlite];

/** A valid VIN numbered `n` (no I, O or Q). */
const vinOf = (n: number) => `1HGCM826${String(n).padStart(9, '0')}`;

/** What each instance committed: [instance, vin] per decision. */
interface Decided {
  instance: string;
  vin: string;
  reason: string;
}

describe.each(backends)('two orchestrator instances on a $name', (backend) => {
  const stores: Store[] = [];
  const loops: MainOrchestrationLoop[] = [];
  const drops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const l of loops.splice(0)) await l.stop();
    for (const s of stores.splice(0)) await s.close();
    for (const drop of drops.splice(0)) await drop();
  });

  /**
   * Instances a and b over one SQLite file (a store handle each, as two processes have) and one bus,
   * with agents that answer every analysis (high urgency, a memory per VIN) and report every
   * notification delivered; the customers never answer. The fleet stays empty until `showFleet()`.
   * The agents answer without waiting for the answer to be handled: on the in-process bus a publish
   * settles once its message is handled, and an answer left for orchestrators that stopped never is.
   */
  async function cluster(vins: string[], over: Partial<OrchestratorOptions>) {
    const clock = new ManualClock(T0);
    const bus = new MemoryBus({ clock });
    const shared = backend.shared();
    drops.push(shared.drop);
    let fleetVisible = false;
    const telematics: TelematicsClient = {
      fetchPage: async () => ({
        vehicles: fleetVisible ? vins.map((vin) => ({ vin, timestamp: new Date(T0).toISOString(), signals: {} })) : [],
        next_cursor: null,
      }),
      fetchHistory: async () => [],
    };
    const decided: Decided[] = [];
    const make = async (name: string) => {
      const store = await shared.open();
      stores.push(store);
      const loop = new MainOrchestrationLoop(
        testLoopOptions({ store, bus, clock, telematicsClient: telematics }, { instanceId: name, ...over }),
      );
      loops.push(loop);
      loop.events.on('event', (e) => {
        if (e.type === 'decision')
          decided.push({ instance: name, vin: e.decision.workflow.vin, reason: e.decision.workflow.reason ?? '' });
      });
      return { name, store, loop };
    };
    const a = await make('orchestrator-a');
    const b = await make('orchestrator-b');

    const analyst = EnvelopeFactory.fromKeyRing(AGENTS.dataAnalysis, TEST_KEYS, clock);
    await bus.subscribe(
      CHANNELS.analysisRequest,
      async (env) => {
        const { vin } = env.payload as AnalysisRequest;
        void bus.publish(
          CHANNELS.analysisResult,
          analyst.create({
            messageType: 'analysis_result',
            receiver: AGENTS.orchestrator,
            correlationId: env.header.correlation_id,
            causationId: env.header.message_id,
            payload: brakesDueResult(vin, { memory: `h1.test.${vin}` }),
          }),
        );
      },
      { queue: AGENTS.dataAnalysis },
    );
    const engager = EnvelopeFactory.fromKeyRing(AGENTS.customerEngagement, TEST_KEYS, clock);
    const notified: { cid: string; kind: string }[] = [];
    await bus.subscribe(
      CHANNELS.engagementRequest,
      async (env) => {
        const req = env.payload as EngagementRequest;
        notified.push({ cid: env.header.correlation_id, kind: req.kind });
        void bus.publish(
          CHANNELS.engagementResult,
          engager.create({
            messageType: 'engagement_result',
            receiver: AGENTS.orchestrator,
            correlationId: env.header.correlation_id,
            causationId: env.header.message_id,
            payload: { vin: req.vin, kind: req.kind, attempt: req.attempt, delivered: true, channels: ['sms'] },
          }),
        );
      },
      { queue: AGENTS.customerEngagement },
    );

    /** Parked messages, by the instance that parked them. */
    const parked: { instance: string; id: string; vin: string }[] = [];
    for (const x of [a, b]) {
      const park = x.store.park.bind(x.store);
      vi.spyOn(x.store, 'park').mockImplementation(async (events) => {
        for (const e of events) parked.push({ instance: x.name, id: e.inboundId, vin: e.vin });
        return park(events);
      });
    }
    /** Parked messages applied and forgotten, by the instance that did. */
    const unparked: { instance: string; id: string }[] = [];
    for (const x of [a, b]) {
      const forget = x.store.deleteParked.bind(x.store);
      vi.spyOn(x.store, 'deleteParked').mockImplementation(async (ids) => {
        await forget(ids);
        for (const id of ids) unparked.push({ instance: x.name, id });
      });
    }
    /** Timers claimed, by the instance that claimed them. */
    const fired: { instance: string; key: string }[] = [];
    for (const x of [a, b]) {
      const claim = x.store.claimDueTimers.bind(x.store);
      vi.spyOn(x.store, 'claimDueTimers').mockImplementation(async (...args) => {
        const timers = await claim(...args);
        for (const t of timers) fired.push({ instance: x.name, key: `${t.correlationId}:${t.name}:${t.seq}` });
        return timers;
      });
    }

    return {
      clock,
      bus,
      a,
      b,
      decided,
      notified,
      parked,
      unparked,
      fired,
      /** The fleet appears, and a poll interval passes so that both instances poll again. */
      showFleet: () => {
        fleetVisible = true;
        clock.advance(a.loop.options.pollingInterval * 1000);
      },
      /** Starts both, then moves the clock a third of a lease at a time until each holds half the partitions. */
      async startSettled() {
        await a.loop.start();
        await b.loop.start();
        const leaseMs = a.loop.options.leaseMs;
        await until(async () => {
          if (a.loop.heldPartitions().length === VIN_PARTITIONS / 2 && b.loop.heldPartitions().length === VIN_PARTITIONS / 2)
            return true;
          clock.advance(leaseMs / 3);
          // Renewals keep a real-time floor between them.
          await new Promise((r) => setTimeout(r, 100));
          return false;
        }, 'each instance holds half of the partitions');
        expect([...a.loop.heldPartitions(), ...b.loop.heldPartitions()].sort((x, y) => x - y)).toEqual(
          Array.from({ length: VIN_PARTITIONS }, (_, p) => p),
        );
      },
      holderOf(vin: string): string {
        return a.loop.heldPartitions().includes(partitionOf(vin)) ? a.name : b.name;
      },
      async state(vin: string) {
        return (await a.loop.getWorkflowStatus(vin))?.state;
      },
    };
  }

  /** VINs with partitions on both sides of the ring's middle, so each of two settled instances holds some. */
  function fleetOf(count: number): string[] {
    const low: string[] = [];
    const high: string[] = [];
    for (let n = 0; low.length + high.length < count; n++) {
      const vin = vinOf(n);
      const side = partitionOf(vin) < VIN_PARTITIONS / 2 ? low : high;
      if (side.length < count / 2) side.push(vin);
    }
    return [...low, ...high];
  }

  it("lets one instance alone decide each vehicle's case, fires every timer once, and has the holder apply what the other parked", async () => {
    const vins = fleetOf(12);
    // The leases outlast the scenario: no partition changes hands while the cases run.
    const c = await cluster(vins, { leaseMs: 30 * 24 * HOUR });
    await c.startSettled();
    const holders = new Set(vins.map((v) => c.holderOf(v)));
    expect(holders).toEqual(new Set([c.a.name, c.b.name]));
    c.showFleet();

    const sent = (kind: string) => new Set(c.notified.filter((n) => n.kind === kind).map((n) => n.cid)).size;
    await until(async () => sent('initial') === vins.length, 'every customer notified');
    // No customer answers: each deadline passes in turn (high urgency gives 24 h).
    c.clock.advance(25 * HOUR);
    await until(async () => sent('reminder') === vins.length, 'every reminder');
    c.clock.advance(25 * HOUR);
    await until(async () => sent('escalation') === vins.length, 'every escalation');
    c.clock.advance(25 * HOUR);
    await until(async () => {
      const cases = (await c.a.store.listWorkflows({ limit: 100 })).items;
      return vins.every((v) => cases.some((w) => w.vin === v && w.outcome === 'no_response'));
    }, 'every case closed without an answer');

    // Each vehicle's decisions were made by the instance holding its partition, and by no other.
    for (const vin of vins) {
      const by = new Set(c.decided.filter((d) => d.vin === vin).map((d) => d.instance));
      expect([vin, [...by]]).toEqual([vin, [c.holderOf(vin)]]);
    }
    // Half of the agents' answers reached the instance not holding the vehicle: parked there, applied by the holder.
    expect(c.parked.length).toBeGreaterThan(0);
    for (const p of c.parked) expect(c.holderOf(p.vin)).not.toBe(p.instance);
    await until(async () => c.parked.every((p) => c.unparked.some((u) => u.id === p.id)), 'every parked message applied');
    for (const p of c.parked) expect(c.unparked.find((u) => u.id === p.id)?.instance).toBe(c.holderOf(p.vin));
    // The analysis memory an answer brought was kept, parked or not.
    for (const vin of vins) expect(await c.b.store.getAnalysisMemory(vin)).toBe(`h1.test.${vin}`);
    // Every notification went out once, and every timer fired once, by one instance.
    // (Each closed case's vehicle is due for analysis again and opens a new case: count per case.)
    const notices = c.notified.map((n) => `${n.cid}:${n.kind}`);
    expect(new Set(notices).size).toBe(notices.length);
    for (const kind of ['reminder', 'escalation']) expect(sent(kind)).toBe(vins.length);
    const keys = c.fired.map((f) => f.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThanOrEqual(3 * vins.length);
  });

  it.each([
    ['stops cleanly', false],
    ['dies without releasing its lease (kill -9)', true],
  ])('takes over the partitions of an instance that %s, and applies what was parked for them', async (_, dies) => {
    const vins = fleetOf(8);
    const leaseMs = HOUR;
    const c = await cluster(vins, { leaseMs });
    await c.startSettled();
    c.showFleet();
    const sent = () => new Set(c.notified.filter((n) => n.kind === 'initial').map((n) => n.cid)).size;
    await until(async () => sent() === vins.length, 'every customer notified');
    const ofA = vins.filter((v) => c.holderOf(v) === c.a.name);
    expect(ofA.length).toBeGreaterThan(0);

    if (dies) vi.spyOn(c.a.store, 'releasePartitions').mockResolvedValue();
    await c.a.loop.stop();
    const decidedBefore = c.decided.length;
    // Every customer declines now: b takes all the answers, and parks those of a's vehicles.
    const api = EnvelopeFactory.fromKeyRing(AGENTS.api, TEST_KEYS, c.clock);
    for (const vin of vins) {
      const wf = await c.b.store.getCurrentWorkflow(vin);
      await c.bus.publish(
        CHANNELS.engagementResult,
        api.create({
          messageType: 'customer_response',
          receiver: AGENTS.orchestrator,
          correlationId: wf!.correlationId,
          payload: { vin, correlation_id: wf!.correlationId, decision: 'decline', responded_at: new Date(c.clock.now()).toISOString() },
        }),
      );
    }
    await until(async () => c.parked.filter((p) => p.instance === c.b.name).length >= ofA.length, "a's answers parked");
    for (const vin of ofA) expect(await c.state(vin)).toBe('engaging_customer');

    // b renews a third of a lease later: a released partitions are free then; a dead instance's once its lease expired.
    c.clock.advance(dies ? leaseMs + MINUTE : leaseMs / 3 + MINUTE);
    await until(async () => c.b.loop.heldPartitions().length === VIN_PARTITIONS, 'b holds every partition');
    await until(async () => (await Promise.all(vins.map((v) => c.state(v)))).every((s) => s === 'completed'), 'every case declined');
    const after = c.decided.slice(decidedBefore);
    expect(new Set(after.map((d) => d.instance))).toEqual(new Set([c.b.name]));
    for (const vin of ofA) expect(after.some((d) => d.vin === vin)).toBe(true);
  });

  it('parks a message whose partition changed hands while it was being decided, for the new holder', async () => {
    const vins = fleetOf(2);
    const leaseMs = HOUR;
    const c = await cluster(vins, { leaseMs });
    await c.a.loop.start();
    c.showFleet();
    await until(async () => c.notified.length === vins.length, 'every customer notified');
    // The delivery reports are in: nothing else is decided until the customers answer.
    await until(
      async () => (await Promise.all(vins.map((v) => c.a.store.getCurrentWorkflow(v)))).every((w) => w?.engagement.lastDelivery),
      'every delivery report applied',
    );
    const vin = vins[0]!;
    const wf = (await c.a.store.getCurrentWorkflow(vin))!;

    // While a decides, it stalls past its lease (a long pause) and b takes every partition over.
    const load = c.a.store.getOpenWorkflows.bind(c.a.store);
    let stall = false;
    vi.spyOn(c.a.store, 'getOpenWorkflows').mockImplementation(async (v) => {
      if (stall) {
        stall = false;
        // b's lease first, at the time the pause ends: a, whose clock has not moved yet, cannot renew before it.
        await c.b.store.leasePartitions(c.b.name, c.clock.now() + leaseMs + MINUTE, leaseMs);
        c.clock.advance(leaseMs + MINUTE);
      }
      return load(v);
    });
    const api = EnvelopeFactory.fromKeyRing(AGENTS.api, TEST_KEYS, c.clock);
    const decline = api.create({
      messageType: 'customer_response',
      receiver: AGENTS.orchestrator,
      correlationId: wf.correlationId,
      payload: { vin, correlation_id: wf.correlationId, decision: 'decline', responded_at: new Date(c.clock.now()).toISOString() },
    });
    stall = true;
    expect(await c.a.loop.deliver(decline)).toEqual({ status: 'parked' });
    expect(stall).toBe(false);
    expect(await c.state(vin)).toBe('engaging_customer');

    // a stops; b, alone, keeps every partition and applies the answer.
    await c.a.loop.stop();
    await c.b.loop.start();
    await until(async () => (await c.state(vin)) === 'completed', 'the new holder applies it');
    expect(c.decided.filter((d) => d.vin === vin && d.reason.includes('decline')).map((d) => d.instance)).toEqual([c.b.name]);
  });

  it('holds its partitions again at once when restarted under the same id after dying, where a new id waits for the lease', async () => {
    const shared = backend.shared();
    drops.push(shared.drop);
    const clock = new ManualClock(T0);
    const bus = new MemoryBus({ clock });
    const telematics: TelematicsClient = { fetchPage: async () => ({ vehicles: [], next_cursor: null }), fetchHistory: async () => [] };
    const start = async (instanceId: string) => {
      const store = await shared.open();
      stores.push(store);
      const loop = new MainOrchestrationLoop(testLoopOptions({ store, bus, clock, telematicsClient: telematics }, { instanceId, leaseMs: HOUR }));
      loops.push(loop);
      await loop.start();
      return { store, loop };
    };
    const first = await start('embedded');
    expect(first.loop.heldPartitions()).toHaveLength(VIN_PARTITIONS);
    // It dies (kill -9): nothing is released.
    vi.spyOn(first.store, 'releasePartitions').mockResolvedValue();
    await first.loop.stop();
    const stranger = await start('orchestrator-new');
    expect(stranger.loop.heldPartitions()).toEqual([]);
    await stranger.loop.stop();
    const again = await start('embedded');
    expect(again.loop.heldPartitions()).toHaveLength(VIN_PARTITIONS);
  });

  it('parks nothing when one instance runs alone: it holds every partition', async () => {
    const c = await cluster(fleetOf(4), {});
    await c.a.loop.start();
    expect(c.a.loop.heldPartitions()).toHaveLength(VIN_PARTITIONS);
    c.showFleet();
    await until(async () => c.notified.length === 4, 'every customer notified');
    expect(c.parked).toEqual([]);
  });
});
