import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../clock/clocks.js';
import { DAY } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import { MemoryBus } from '../bus/memory.js';
import { EnvelopeFactory } from '../bus/signing.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { MainOrchestrationLoop, type OrchestratorOptions } from '../orchestrator/main-loop.js';
import { TEST_KEYS, testLoopOptions } from '../orchestrator/testing/loop.js';
import { TelematicsError, type TelematicsClient } from '../orchestrator/telematics-client.js';
import type { AnalysisResult } from '../core/payloads.js';
import { createApiServer, type ApiDeps } from './server.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const VIN = '1HGCM82633A004352';
const OTHER_VIN = '1HGCM82633A004353';
const iso = (t: number) => new Date(t).toISOString();
const APPOINTMENT = {
  appointment_id: 'apt-1',
  center_id: 'SC-BER-01',
  start: iso(T0 + DAY),
  end: iso(T0 + DAY + 7_200_000),
  bay: 1,
  components: ['brakes'],
};

interface ParamSchema {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}
interface OpenApiDoc {
  paths: Record<string, { get?: { parameters?: { in: string; name: string; schema: ParamSchema }[] } }>;
}

/** Values a query parameter of this schema must refuse: derived from the schema, so a new parameter is covered. */
function badValues(schema: ParamSchema): string[] {
  if (schema.type === 'integer') {
    const out = ['abc', '1e9', '1.5', '', ' 5', '0x10', '99999999999999999999', '-1'];
    if (schema.minimum !== undefined) out.push(String(schema.minimum - 1));
    if (schema.maximum !== undefined) out.push(String(schema.maximum + 1));
    return [...new Set(out)];
  }
  if (schema.enum) return ['not-a-value', '', schema.enum[0]!.toUpperCase()];
  if (schema.pattern) return ['x'];
  const out: string[] = [];
  if (schema.minLength) out.push('x'.repeat(schema.minLength - 1));
  if (schema.maxLength !== undefined) out.push('x'.repeat(schema.maxLength + 1));
  return out;
}

/** A value the parameter accepts. */
function goodValue(schema: ParamSchema): string {
  if (schema.type === 'integer') return String(Math.max(schema.minimum ?? 0, 1));
  if (schema.enum) return schema.enum[0]!;
  return 'x'.repeat(schema.minLength ?? 0);
}
const keys = TEST_KEYS;

/** A loop with a real store and bus; the test plays the analysis agent by hand. */
async function setup(extra: Pick<ApiDeps, 'knownCenters'> = {}, telematics?: TelematicsClient, over: Partial<OrchestratorOptions> = {}) {
  const clock = new ManualClock(T0);
  const store = createSqliteStore({ path: ':memory:' });
  const bus = new MemoryBus({ clock });
  const telematicsClient = telematics ?? {
    fetchPage: async () => ({ vehicles: [], next_cursor: null }),
    fetchHistory: async () => [],
  };
  const loop = new MainOrchestrationLoop(testLoopOptions({ store, bus, clock, telematicsClient }, over));
  await loop.initialize();
  const app = await createApiServer({ loop, bus, store, clock, envelopes: EnvelopeFactory.fromKeyRing(AGENTS.api, keys, clock), ...extra });
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
  // Listening again (without ticking): what the API publishes reaches the loop over the bus.
  await s.loop.initialize();
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
        'failed_workflows',
      ]),
    );
    expect(stats.workflow_states.idle).toBe(0);
  });

  it('says degraded, with the circuit, while the telematics API is unreachable', async () => {
    const down = () => Promise.reject(new TelematicsError('connect ECONNREFUSED 127.0.0.1:1', null));
    const o = await setup({}, { fetchPage: down, fetchHistory: down }, { outageProbeMs: 5 });
    try {
      await o.loop.start();
      for (let i = 0; i < 200 && o.loop.telematics.state === 'closed'; i++) {
        o.clock.advance(3600 * 1000);
        await new Promise((r) => setTimeout(r, 5));
      }
      const health = (await o.app.inject({ method: 'GET', url: '/api/health' })).json();
      expect(health).toMatchObject({ status: 'degraded', telematics: { last_error: expect.stringContaining('ECONNREFUSED') } });
      expect(health.telematics.state).not.toBe('closed');
    } finally {
      await o.loop.stop();
      await o.app.close();
      await o.store.close();
    }
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
    expect(await get('since=yesterday')).toMatchObject({ field: 'since', message: 'since must be an integer of at least 0 (got "yesterday")' });
    expect(await get('since=-1')).toMatchObject({ field: 'since' });
    expect(await get('sort=desc')).toMatchObject({ field: 'sort' });
    expect(await get('cursor=not-a-cursor')).toMatchObject({ error: 'invalid_cursor', field: 'cursor', message: expect.stringMatching(/next_cursor/) });
    // A workflow listing's cursor is not a label listing's.
    expect(await get('cursor=WzEsIngiXQ')).toMatchObject({ error: 'invalid_cursor' });
  });

  /** The state of VIN's case as a client sees it, to show that a refused input changed nothing. */
  const status = async () => (await app.inject({ method: 'GET', url: `/api/workflows/${VIN}` })).json();
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });

  /** Accepts through the API and plays the scheduling agent: the case waits for its service. */
  async function book(cid: string) {
    expect((await post('/api/customer-responses', { vin: VIN, correlation_id: cid, decision: 'accept' })).statusCode).toBe(202);
    const scheduler = EnvelopeFactory.fromKeyRing(AGENTS.scheduling, keys, s.clock);
    const result = { vin: VIN, ok: true, appointment: APPOINTMENT };
    await s.loop.deliver(scheduler.create({ messageType: 'scheduling_result', receiver: 'orchestrator', correlationId: cid, payload: result }));
    expect((await status()).state).toBe('awaiting_service');
  }

  it('refuses a customer answer naming another vehicle than its case, and changes nothing (issue 7, item 2)', async () => {
    const cid = await engage(s);
    const before = await status();
    const res = await post('/api/customer-responses', { vin: OTHER_VIN, correlation_id: cid, decision: 'decline' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ error: 'mismatch', message: expect.stringContaining(OTHER_VIN) });
    expect(await status()).toEqual(before);
    expect((await post('/api/customer-responses', { vin: VIN, correlation_id: cid, decision: 'decline' })).statusCode).toBe(202);
  });

  it('refuses a service report for another vehicle or dated before the booking, and feedback for another vehicle (issue 7, item 2)', async () => {
    const cid = await engage(s);
    await book(cid);
    s.clock.advance(2 * DAY);
    const report = { vin: VIN, appointment_id: APPOINTMENT.appointment_id, correlation_id: cid, completed_at: iso(s.clock.now()), findings: [] };
    const before = await status();
    for (const wrong of [{ vin: OTHER_VIN }, { completed_at: '2020-01-01T00:00:00Z' }]) {
      const res = await post('/api/webhooks/service-completed', { ...report, ...wrong });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ error: 'mismatch' });
      expect(await status()).toEqual(before);
    }
    expect((await post('/api/webhooks/service-completed', report)).json()).toMatchObject({ state: 'collecting_feedback' });

    const collecting = await status();
    const feedback = await post('/api/feedback', { vin: OTHER_VIN, correlation_id: cid, rating: 1 });
    expect(feedback.statusCode).toBe(422);
    expect(feedback.json()).toMatchObject({ error: 'mismatch', message: expect.stringContaining(OTHER_VIN) });
    expect(await status()).toEqual(collecting);
    expect((await post('/api/feedback', { vin: VIN, correlation_id: cid, rating: 5 })).statusCode).toBe(202);
  });

  it('refuses wrong types in a body instead of converting them (issue 7, item 3)', async () => {
    const cid = await engage(s);
    const before = await status();
    const answer = { vin: VIN, correlation_id: cid, decision: 'accept' };
    const feedback = { vin: VIN, correlation_id: cid, rating: 5 };
    const report = { vin: VIN, appointment_id: 'apt-1', correlation_id: cid, completed_at: iso(T0), findings: [] };
    // A 17-digit number, as JSON text: a JavaScript number cannot hold it exactly.
    const numberVin = JSON.stringify(answer).replace(`"${VIN}"`, '12345678901234567');
    const wrong: [url: string, body: object | string, field: string][] = [
      ['/api/customer-responses', numberVin, 'vin'],
      ['/api/customer-responses', { ...answer, decision: ['accept'] }, 'decision'],
      ['/api/customer-responses', { ...answer, correlation_id: 123 }, 'correlation_id'],
      ['/api/customer-responses', { ...answer, comment: 5 }, 'comment'],
      ['/api/customer-responses', { ...answer, center_id: 7 }, 'center_id'],
      ['/api/customer-responses', { ...answer, preferred_time: 1772445600000 }, 'preferred_time'],
      ['/api/feedback', { ...feedback, rating: '5' }, 'rating'],
      ['/api/feedback', { ...feedback, rating: true }, 'rating'],
      ['/api/feedback', { ...feedback, rating: [5] }, 'rating'],
      ['/api/feedback', { ...feedback, rating: 4.5 }, 'rating'],
      ['/api/feedback', { ...feedback, comment: false }, 'comment'],
      ['/api/webhooks/service-completed', { ...report, findings: { component: 'brakes', finding: 'confirmed' } }, 'findings'],
      ['/api/webhooks/service-completed', { ...report, appointment_id: 42 }, 'appointment_id'],
      ['/api/webhooks/service-completed', { ...report, completed_at: T0 }, 'completed_at'],
    ];
    for (const [url, body, field] of wrong) {
      const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: body });
      expect({ url, field, status: res.statusCode }).toEqual({ url, field, status: 400 });
      expect(res.json()).toMatchObject({ error: 'invalid_request', field, message: expect.stringMatching(new RegExp(`^${field} must be `)) });
    }
    expect((await post('/api/feedback', { ...feedback, rating: '5' })).json().message).toBe('rating must be an integer from 1 to 5 (got "5")');
    expect(await status()).toEqual(before);
  });

  it('refuses a preferred time no booking can be made for (issue 7, item 3)', async () => {
    const cid = await engage(s);
    const before = await status();
    const answer = { vin: VIN, correlation_id: cid, decision: 'accept' };
    for (const preferred_time of ['1999-06-01T09:00:00Z', '2099-06-01T09:00:00Z', iso(T0 - 2 * DAY), iso(T0 + 400 * DAY)]) {
      const res = await post('/api/customer-responses', { ...answer, preferred_time });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ error: 'out_of_range', field: 'preferred_time', message: expect.stringContaining(iso(T0 - DAY)) });
    }
    expect(await status()).toEqual(before);
    expect((await post('/api/customer-responses', { ...answer, preferred_time: iso(T0 + 2 * DAY) })).statusCode).toBe(202);
  });

  it('refuses a service centre the scheduler does not have, naming the ones it has (issue 7, item 3)', async () => {
    const centered = await setup({ knownCenters: async () => ['SC-BER-01', 'SC-HAM-01'] });
    try {
      const cid = await engage(centered);
      const res = await centered.app.inject({ method: 'POST', url: '/api/customer-responses', payload: { vin: VIN, correlation_id: cid, decision: 'accept', center_id: 'SC-NOWHERE' } });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toEqual({ error: 'unknown_center', field: 'center_id', message: 'center_id SC-NOWHERE is not a service centre; known: SC-BER-01, SC-HAM-01' });
      expect((await centered.loop.getCaseStatus(cid))?.state).toBe('engaging_customer');
      const ok = await centered.app.inject({ method: 'POST', url: '/api/customer-responses', payload: { vin: VIN, correlation_id: cid, decision: 'accept', center_id: 'SC-HAM-01' } });
      expect(ok.json()).toMatchObject({ status: 'recorded', state: 'scheduling_service' });
    } finally {
      await centered.app.close();
      await centered.store.close();
    }
  });

  it('takes a centre unchecked when the scheduler cannot say which it has: the answer matters more', async () => {
    const blind = await setup({ knownCenters: async () => Promise.reject(new Error('scheduler down')) });
    try {
      const cid = await engage(blind);
      const res = await blind.app.inject({ method: 'POST', url: '/api/customer-responses', payload: { vin: VIN, correlation_id: cid, decision: 'accept', center_id: 'SC-HAM-01' } });
      expect(res.statusCode).toBe(202);
    } finally {
      await blind.app.close();
      await blind.store.close();
    }
  });

  it('answers a body that is not a JSON object with 400 or 415 in the API’s own error shape (issue 7, item 3)', async () => {
    const json = JSON.stringify({ vin: VIN, correlation_id: 'c', decision: 'accept' });
    const cases: { name: string; headers?: Record<string, string>; payload?: string; status: number; error: string }[] = [
      { name: 'malformed JSON', headers: { 'content-type': 'application/json' }, payload: '{"vin": ', status: 400, error: 'invalid_json' },
      { name: 'empty JSON', headers: { 'content-type': 'application/json' }, payload: '', status: 400, error: 'invalid_json' },
      { name: 'JSON null', headers: { 'content-type': 'application/json' }, payload: 'null', status: 400, error: 'invalid_request' },
      { name: 'JSON array', headers: { 'content-type': 'application/json' }, payload: `[${json}]`, status: 400, error: 'invalid_request' },
      { name: 'no body', status: 400, error: 'invalid_request' },
      { name: 'no content type', payload: json, status: 415, error: 'unsupported_media_type' },
      { name: 'form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `vin=${VIN}&decision=accept`, status: 415, error: 'unsupported_media_type' },
      {
        name: 'multipart',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
        payload: `--b\r\nContent-Disposition: form-data; name="vin"\r\n\r\n${VIN}\r\n--b--\r\n`,
        status: 415,
        error: 'unsupported_media_type',
      },
      { name: 'text', headers: { 'content-type': 'text/plain' }, payload: json, status: 415, error: 'unsupported_media_type' },
    ];
    for (const c of cases) {
      for (const url of ['/api/customer-responses', '/api/feedback', '/api/webhooks/service-completed']) {
        const res = await app.inject({ method: 'POST', url, ...(c.headers ? { headers: c.headers } : {}), ...(c.payload !== undefined ? { payload: c.payload } : {}) });
        const body = res.json();
        expect({ case: c.name, url, status: res.statusCode, error: body.error }).toEqual({ case: c.name, url, status: c.status, error: c.error });
        expect(body.message).toContain('the body must be a JSON object (Content-Type: application/json)');
        expect(JSON.stringify(body)).not.toMatch(/FST_/);
      }
    }
    const form = await app.inject({ method: 'POST', url: '/api/feedback', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'rating=5' });
    expect(form.json().message).toBe('the body must be a JSON object (Content-Type: application/json); got Content-Type application/x-www-form-urlencoded');
    const url = await app.inject({ method: 'GET', url: '/api/workflows/%E0%A4%A' });
    expect(url.statusCode).toBe(400);
    expect(url.json()).toMatchObject({ error: 'invalid_url' });
  });

  it('answers a request that is not HTTP at all in the same error shape', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ port: Number(port), host: '127.0.0.1' }, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'malformed_http', message: 'the request is not valid HTTP/1.1' });
  });

  it('takes the appointment a service report carries and records it when the booking’s confirmation was lost', async () => {
    const cid = await engage(s);
    expect((await post('/api/customer-responses', { vin: VIN, correlation_id: cid, decision: 'accept' })).statusCode).toBe(202);
    s.clock.advance(2 * DAY);
    const report = { vin: VIN, appointment_id: APPOINTMENT.appointment_id, correlation_id: cid, completed_at: iso(s.clock.now()), findings: [], appointment: APPOINTMENT };
    const other = await post('/api/webhooks/service-completed', { ...report, appointment: { ...APPOINTMENT, appointment_id: 'apt-2' } });
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({ error: 'invalid_request', field: 'appointment.appointment_id' });
    const loose = await post('/api/webhooks/service-completed', { ...report, appointment: { ...APPOINTMENT, bay: '1' } });
    expect(loose.json()).toMatchObject({ error: 'invalid_request', field: 'appointment.bay' });
    const res = await post('/api/webhooks/service-completed', report);
    expect(res.json()).toMatchObject({ status: 'recorded', state: 'collecting_feedback' });
    expect((await status()).appointment).toEqual(APPOINTMENT);
  });

  it('validates every query parameter of every route from its schema: bad values and unknown parameters get 400 (issue 7, item 4)', async () => {
    await engage(s);
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApiDoc;
    const routes = Object.entries(doc.paths).filter(([, ops]) => ops.get);
    const queryOf = (path: string) => (doc.paths[path]?.get?.parameters ?? []).filter((p) => p.in === 'query');
    // The routes that page take the one `limit`, quarantine included.
    for (const path of ['/api/workflows', '/api/labels', '/api/quarantine']) {
      const limit = queryOf(path).find((p) => p.name === 'limit');
      expect({ path, limit: limit?.schema }).toMatchObject({ path, limit: { type: 'integer', minimum: 1, maximum: 500 } });
    }
    let checked = 0;
    for (const [path, ops] of routes) {
      const url = path.replace('{vin}', VIN);
      const refused = async (query: string, field: string) => {
        const res = await app.inject({ method: 'GET', url: `${url}?${query}` });
        expect({ url, query, status: res.statusCode }).toEqual({ url, query, status: 400 });
        expect(res.json()).toMatchObject({ error: 'invalid_request', field, message: expect.stringContaining(field) });
        return res.json() as { message: string };
      };
      const unknown = await refused('no_such_parameter=1', 'no_such_parameter');
      expect(unknown.message).toMatch(/^unknown query parameter no_such_parameter; accepted: /);
      for (const p of (ops.get!.parameters ?? []).filter((q) => q.in === 'query')) {
        for (const bad of badValues(p.schema)) {
          const { message } = await refused(`${p.name}=${encodeURIComponent(bad)}`, p.name);
          if (p.schema.type === 'integer') {
            expect(message).toMatch(new RegExp(`^${p.name} must be an integer (from ${p.schema.minimum} to ${p.schema.maximum}|of at least ${p.schema.minimum})`));
          }
          checked++;
        }
        const good = encodeURIComponent(goodValue(p.schema));
        await refused(`${p.name}=${good}&${p.name}=${good}`, p.name);
        // A good value is taken (a correlation_id that names no case is then not found, not invalid).
        const ok = await app.inject({ method: 'GET', url: `${url}?${p.name}=${good}` });
        expect({ url, param: p.name, status: ok.statusCode }).toEqual({ url, param: p.name, status: p.name === 'correlation_id' ? 404 : 200 });
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('publishes each input from outside on the bus, on its channel, and the loop takes it from there (issue 8)', async () => {
    const cid = await engage(s);
    // A second consumer group on each channel sees what the orchestrator's group gets, as a monitor would.
    const seen: [string, string, string][] = [];
    for (const channel of [CHANNELS.engagementResult, CHANNELS.serviceCompleted, CHANNELS.feedbackResult]) {
      await s.bus.subscribe(channel, async (env) => void seen.push([channel, env.header.message_type, env.header.sender]), { queue: 'monitor' });
    }
    await book(cid);
    s.clock.advance(2 * DAY);
    const report = { vin: VIN, appointment_id: APPOINTMENT.appointment_id, correlation_id: cid, completed_at: iso(s.clock.now()), findings: [] };
    expect((await post('/api/webhooks/service-completed', report)).statusCode).toBe(202);
    expect((await post('/api/feedback', { vin: VIN, correlation_id: cid, rating: 4 })).statusCode).toBe(202);
    expect(seen).toEqual([
      [CHANNELS.engagementResult, 'customer_response', AGENTS.api],
      [CHANNELS.serviceCompleted, 'service_completed', AGENTS.api],
      [CHANNELS.feedbackResult, 'feedback_received', AGENTS.api],
    ]);
    expect(await status()).toMatchObject({ state: 'completed', feedback: { rating: 4 } });
  });

  it('publishes nothing it answers 4xx to: the case would not take it', async () => {
    const cid = await engage(s);
    const seen: string[] = [];
    await s.bus.subscribe(CHANNELS.engagementResult, async (env) => void seen.push(env.header.message_type), { queue: 'monitor' });
    expect((await post('/api/customer-responses', { vin: OTHER_VIN, correlation_id: cid, decision: 'accept' })).statusCode).toBe(422);
    expect((await post('/api/customer-responses', { vin: VIN, correlation_id: 'workflow-x-1', decision: 'accept' })).statusCode).toBe(404);
    expect(seen).toEqual([]);
  });

  it('answers 503 when the bus does not take an input, and the case is unchanged', async () => {
    const cid = await engage(s);
    const before = await status();
    const down = await createApiServer({
      loop: s.loop,
      bus: { publish: async () => Promise.reject(new Error('NATS: timeout')) },
      store,
      clock: s.clock,
      envelopes: EnvelopeFactory.fromKeyRing(AGENTS.api, keys, s.clock),
    });
    try {
      const res = await down.inject({ method: 'POST', url: '/api/customer-responses', payload: { vin: VIN, correlation_id: cid, decision: 'accept' } });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'unavailable', message: expect.stringContaining('send it again') });
    } finally {
      await down.close();
    }
    expect(await status()).toEqual(before);
  });

  it('the orchestrator refuses, counts and ignores a contradicting input that reaches it over the bus anyway', async () => {
    const cid = await engage(s);
    const before = await status();
    const api = EnvelopeFactory.fromKeyRing(AGENTS.api, keys, s.clock);
    const wrong = { vin: OTHER_VIN, correlation_id: cid, decision: 'decline', responded_at: iso(s.clock.now()) };
    await s.bus.publish(CHANNELS.engagementResult, api.create({ messageType: 'customer_response', receiver: 'orchestrator', correlationId: cid, payload: wrong }));
    expect(await status()).toEqual(before);
    expect((await store.getCounters())['inbound_refused']).toBe(1);
  });

  it('publishes an OpenAPI document listing the routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/health', '/api/statistics', '/api/workflows', '/api/workflows/{vin}', '/api/customer-responses', '/api/labels']),
    );
  });
});
