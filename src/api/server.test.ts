import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../clock/clocks.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import { MemoryBus } from '../bus/memory.js';
import { EnvelopeFactory, keyRingFromSecret } from '../bus/signing.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { MainOrchestrationLoop } from '../orchestrator/main-loop.js';
import type { AnalysisResult } from '../core/payloads.js';
import { createApiServer } from './server.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const VIN = '1HGCM82633A004352';
const keys = keyRingFromSecret('test-secret-0123456789');

/** A loop with a real store and bus; the test plays the analysis agent by hand. */
async function setup() {
  const clock = new ManualClock(T0);
  const store = createSqliteStore({ path: ':memory:' });
  const bus = new MemoryBus({ clock });
  const loop = new MainOrchestrationLoop({
    telematicsApiUrl: 'http://127.0.0.1:1',
    schedulerApiUrl: 'http://127.0.0.1:1',
    store,
    bus,
    clock,
    keys,
    telematicsClient: {
      fetchPage: async () => ({ vehicles: [], next_cursor: null }),
      fetchHistory: async () => [],
    },
  });
  await loop.initialize();
  const app = await createApiServer({ loop, store, clock, envelopes: EnvelopeFactory.fromKeyRing(AGENTS.api, keys, clock) });
  return { clock, store, bus, loop, app };
}

/** Brings VIN's workflow to engaging_customer through real bus messages. */
async function engage(s: Awaited<ReturnType<typeof setup>>, days = 3): Promise<string> {
  const requests: string[] = [];
  await s.bus.subscribe(CHANNELS.analysisRequest, async (env) => void requests.push(env.header.correlation_id), { queue: 'x' });
  await s.store.upsertVehicles([{ vin: VIN, lastSampleAt: T0 }], T0);
  // One loop pass: the cycle starts and the (empty) fetch result moves the workflow to analyzing_data.
  await s.loop.start();
  for (let i = 0; i < 100 && requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await s.loop.stop();
  const cid = requests[0]!;
  const analyst = EnvelopeFactory.fromKeyRing(AGENTS.dataAnalysis, keys, s.clock);
  const result: AnalysisResult = {
    vin: VIN,
    anomalies: [],
    predicted_failures: [{ component: 'brakes', mode: 'pad_wear', probability: 0.9, days_to_failure: days }],
    predicted_days_to_failure: days,
    failure_probability: 0.9,
    confidence: 0.8,
    samples_analyzed: 10,
    model_version: 'test',
  };
  await s.loop.deliver(analyst.create({ messageType: 'analysis_result', receiver: 'orchestrator', correlationId: cid, payload: result }));
  return cid;
}

describe('HTTP API', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  let app: FastifyInstance;
  let store: Store;
  beforeEach(async () => {
    s = await setup();
    app = s.app;
    store = s.store;
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });

  it('answers health and statistics in the seed shape', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/health' })).json()).toMatchObject({ status: 'ok' });
    const stats = (await app.inject({ method: 'GET', url: '/api/statistics' })).json();
    expect(Object.keys(stats)).toEqual(
      expect.arrayContaining([
        'total_vehicles_processed',
        'active_workflows',
        'completed_workflows',
        'anomalies_detected',
        'customers_engaged',
        'appointments_scheduled',
        'failures_prevented',
        'errors_encountered',
        'workflow_states',
      ]),
    );
    expect(stats.workflow_states.idle).toBe(0);
  });

  it('404s an unknown VIN and 400s a malformed one with the field named', async () => {
    const unknown = await app.inject({ method: 'GET', url: `/api/workflows/${VIN}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'not_found' });
    const bad = await app.inject({ method: 'GET', url: '/api/workflows/NOT-A-VIN' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_request', field: 'vin' });
  });

  it('validates customer responses: missing field, wrong enum, unknown field, oversized body', async () => {
    const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/customer-responses', payload: payload as object });
    const missing = await post({ vin: VIN, decision: 'accept' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().field).toBe('correlation_id');
    const wrong = await post({ vin: VIN, correlation_id: 'c', decision: 'maybe' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().field).toBe('decision');
    const extra = await post({ vin: VIN, correlation_id: 'c', decision: 'accept', hack: 1 });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().field).toBe('hack');
    const huge = await app.inject({
      method: 'POST',
      url: '/api/customer-responses',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ vin: VIN, correlation_id: 'c', decision: 'accept', comment: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.statusCode).toBe(413);
  });

  it('records an accept once, moves the workflow to scheduling, and refuses it when it no longer applies', async () => {
    const cid = await engage(s);
    const status = (await app.inject({ method: 'GET', url: `/api/workflows/${VIN}` })).json();
    expect(status).toMatchObject({ vin: VIN, state: 'engaging_customer', urgency_level: 'high', correlation_id: cid });
    expect(status.state_history.map((h: { to_state: string }) => h.to_state)).toEqual([
      'polling_telemetry',
      'analyzing_data',
      'assessing_urgency',
      'engaging_customer',
    ]);
    const body = { vin: VIN, correlation_id: cid, decision: 'accept' };
    const first = await app.inject({ method: 'POST', url: '/api/customer-responses', payload: body });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ status: 'recorded', state: 'scheduling_service' });
    const again = await app.inject({ method: 'POST', url: '/api/customer-responses', payload: body });
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('scheduling_service');
    const other = await app.inject({ method: 'POST', url: '/api/customer-responses', payload: { ...body, correlation_id: 'workflow-x-1' } });
    expect(other.statusCode).toBe(404);
  });

  it('takes the scheduler’s service report only when the case can use it, so a retried report is never lost', async () => {
    const cid = await engage(s);
    const report = {
      vin: VIN,
      appointment_id: 'apt-1',
      correlation_id: cid,
      completed_at: new Date(T0).toISOString(),
      findings: [{ component: 'brakes', finding: 'confirmed' }],
    };
    const early = await app.inject({ method: 'POST', url: '/api/webhooks/service-completed', payload: report });
    expect(early.statusCode).toBe(409);
    const bad = await app.inject({ method: 'POST', url: '/api/webhooks/service-completed', payload: { ...report, findings: [{ component: 'wipers', finding: 'confirmed' }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('findings.0.component');
    const unknown = await app.inject({ method: 'POST', url: '/api/webhooks/service-completed', payload: { ...report, vin: '1HGCM82633A004353', correlation_id: undefined } });
    expect(unknown.statusCode).toBe(404);
  });

  it('lists workflows filtered by state and urgency', async () => {
    await engage(s);
    const engaging = (await app.inject({ method: 'GET', url: '/api/workflows?state=engaging_customer' })).json();
    expect(engaging.workflows).toHaveLength(1);
    expect(engaging.workflows[0]).toMatchObject({ vin: VIN, urgency_level: 'high', components: ['brakes'] });
    const none = (await app.inject({ method: 'GET', url: '/api/workflows?urgency=critical' })).json();
    expect(none.workflows).toHaveLength(0);
    const bad = await app.inject({ method: 'GET', url: '/api/workflows?state=sleeping' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('state');
  });

  it('lists the technicians’ findings of a service taken through the webhook as labels, paged, with counts', async () => {
    const empty = await app.inject({ method: 'GET', url: '/api/labels' });
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({ items: [], next_cursor: null, counts: { confirmed: 0, not_found: 0 } });

    const cid = await engage(s);
    const accepted = await app.inject({ method: 'POST', url: '/api/customer-responses', payload: { vin: VIN, correlation_id: cid, decision: 'accept' } });
    expect(accepted.json()).toMatchObject({ state: 'scheduling_service' });
    const servicedAt = T0 + 2 * 86_400_000;
    s.clock.advance(servicedAt - s.clock.now()); // a report of a service done, not of one still to come
    const report = {
      vin: VIN,
      appointment_id: 'apt-1',
      correlation_id: cid,
      completed_at: new Date(servicedAt).toISOString(),
      findings: [
        { component: 'tyres', finding: 'not_found', notes: 'pressure fine' },
        { component: 'brakes', finding: 'confirmed' },
      ],
    };
    expect((await app.inject({ method: 'POST', url: '/api/webhooks/service-completed', payload: report })).statusCode).toBe(202);

    const all = (await app.inject({ method: 'GET', url: '/api/labels' })).json();
    expect(all.counts).toEqual({ confirmed: 1, not_found: 1 });
    expect(all.next_cursor).toBeNull();
    expect(all.items).toEqual([
      {
        correlation_id: cid,
        vin: VIN,
        component: 'brakes',
        finding: 'confirmed',
        serviced_at: servicedAt,
        predicted: { mode: 'pad_wear', probability: 0.9, days_to_failure: 3, analysed_at: T0 },
      },
      { correlation_id: cid, vin: VIN, component: 'tyres', finding: 'not_found', serviced_at: servicedAt, predicted: null, notes: 'pressure fine' },
    ]);

    const first = (await app.inject({ method: 'GET', url: '/api/labels?limit=1' })).json();
    expect(first.items.map((l: { component: string }) => l.component)).toEqual(['brakes']);
    expect(first.counts).toEqual({ confirmed: 1, not_found: 1 });
    const second = (await app.inject({ method: 'GET', url: `/api/labels?limit=1&cursor=${first.next_cursor}` })).json();
    expect(second.items.map((l: { component: string }) => l.component)).toEqual(['tyres']);
    expect(second.next_cursor).toBeNull();
    expect((await app.inject({ method: 'GET', url: `/api/labels?since=${servicedAt}` })).json().items).toHaveLength(2);
    expect((await app.inject({ method: 'GET', url: `/api/labels?since=${servicedAt + 1}` })).json().items).toEqual([]);
  });

  it('400s a bad label query with the parameter named', async () => {
    const get = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `/api/labels?${query}` });
      expect(res.statusCode).toBe(400);
      return res.json() as { error: string; field?: string; message: string };
    };
    expect(await get('limit=0')).toMatchObject({ error: 'invalid_request', field: 'limit' });
    expect(await get('limit=5000')).toMatchObject({ field: 'limit' });
    expect(await get('since=yesterday')).toMatchObject({ field: 'since', message: expect.stringMatching(/^since must be integer/) });
    expect(await get('since=-1')).toMatchObject({ field: 'since' });
    expect(await get('sort=desc')).toMatchObject({ field: 'sort' });
    expect(await get('cursor=not-a-cursor')).toMatchObject({ error: 'invalid_cursor', field: 'cursor', message: expect.stringMatching(/next_cursor/) });
    // A workflow listing's cursor is not a label listing's.
    expect(await get('cursor=WzEsIngiXQ')).toMatchObject({ error: 'invalid_cursor' });
  });

  it('publishes an OpenAPI document listing the routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/health', '/api/statistics', '/api/workflows', '/api/workflows/{vin}', '/api/customer-responses', '/api/labels']),
    );
  });
});
