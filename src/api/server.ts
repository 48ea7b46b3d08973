/**
 * Pitwall's HTTP API. Inputs from outside (customer clicks, feedback, the scheduler's service reports)
 * become signed envelopes published on the bus (DESIGN: everything from outside crosses the bus), so any
 * orchestrator instance can take them and a monitor on the bus sees them. Before publishing, the API
 * previews the input against its case as the store has it (the orchestrator's own pure decider), so a
 * client still hears at once that its input is malformed (400), names no case (404), does not apply now
 * (409) or contradicts its case (422); an applicable input is answered 202 once the bus has taken it.
 */
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { DAY, isoTime } from '../core/clock.js';
import { CHANNELS, type Channel, type Envelope } from '../core/envelope.js';
import type { Bus } from '../bus/port.js';
import type { EnvelopeFactory } from '../bus/signing.js';
import type { Store } from '../store/port.js';
import { isInvalidCursor } from '../store/errors.js';
import type { Workflow } from '../core/workflow.js';
import type { MainOrchestrationLoop } from '../orchestrator/main-loop.js';
import type { Preview } from '../orchestrator/preview.js';
import {
  Accepted,
  CustomerResponseBody,
  ErrorBody,
  FeedbackBody,
  LabelList,
  LabelListQuery,
  NoQuery,
  QuarantineQuery,
  ServiceCompletedBody,
  StatusQuery,
  VinParams,
  WorkflowListQuery,
} from './schemas.js';
import { answerMalformedHttp, clientError, type ErrorReply } from './errors.js';
import { parseRequestNumbers } from './query.js';
import type { KnownCenters } from './centers.js';

export interface ApiDeps {
  loop: Pick<MainOrchestrationLoop, 'preview' | 'getStatistics' | 'getWorkflowStatus' | 'getCaseStatus' | 'lastPoll' | 'telematics'>;
  /** Where inputs from outside are published, for whichever orchestrator instance takes them. */
  bus: Pick<Bus, 'publish'>;
  store: Store;
  clock: Clock;
  /** Signs what the API hands on, as sender `api`. */
  envelopes: EnvelopeFactory;
  log?: Logger;
  /** @default 1 MiB */
  bodyLimit?: number;
  /**
   * The scheduler's service centres (see `cachedCenters`). When given, a customer answer naming another
   * `center_id` is refused; when it cannot be had, the answer is taken unchecked (the centre is only a
   * preference, and the customer's answer matters more).
   */
  knownCenters?: KnownCenters;
}

/** How far back a customer's preferred time may lie: a little, for a form filled in yesterday. */
export const PREFERRED_TIME_PAST_MS = DAY;
/** How far ahead a customer's preferred time may lie: no scheduler books a year out. */
export const PREFERRED_TIME_AHEAD_MS = 366 * DAY;

/** What every endpoint that takes input from outside may answer (see `answer` below). */
const INPUT_RESPONSES = {
  200: Accepted,
  202: Accepted,
  400: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  422: ErrorBody,
  503: ErrorBody,
} as const;

/** The channel each input from outside is published on: where the orchestrator hears of it. */
const INPUT_CHANNELS = {
  customer_response: CHANNELS.engagementResult,
  feedback_received: CHANNELS.feedbackResult,
  service_completed: CHANNELS.serviceCompleted,
} as const satisfies Record<string, Channel>;
type InputType = keyof typeof INPUT_CHANNELS;

/** What became of an input: previewed against its case, and published when the case would take it. */
type Submitted = Exclude<Preview, { status: 'applicable' }> | { status: 'published'; state: string } | { status: 'unpublished'; error: string };

export async function createApiServer(deps: ApiDeps): Promise<FastifyInstance> {
  const bodyLimit = deps.bodyLimit ?? 1024 * 1024;
  const sendError = (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    // A cursor is the client's input even though the store is the one that can read it.
    if (isInvalidCursor(err)) return reply.code(400).send({ error: 'invalid_cursor', field: 'cursor', message: err.message });
    const client = clientError(err, { contentType: req.headers['content-type'], bodyLimit });
    if (client) return reply.code(client.status).send(client.body);
    deps.log?.error({ err: err.message }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  };
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // No coercion: a body's types are the client's, and a wrong one is refused, not converted (a number
    // as VIN, "5" as rating). Query and path numbers are parsed strictly by parseRequestNumbers instead.
    // `verbose` gives each error the schema it failed, so the answer can say what is accepted.
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false, verbose: true } },
    // Errors Fastify raises before routing (a malformed URL) get the same shape as every other.
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    clientErrorHandler: answerMalformedHttp,
  });
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` }));
  // The API takes JSON only: without this, a text/plain body reached the schema as a string.
  app.removeContentTypeParser('text/plain');
  app.addHook('preValidation', parseRequestNumbers);
  // Every route's query is validated from its schema, and a route that declares none takes none: an
  // unknown parameter is refused on every route alike, not ignored on some.
  app.addHook('onRoute', (route) => {
    if (!route.schema?.querystring) route.schema = { ...route.schema, querystring: NoQuery };
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Pitwall API', version: '0.1.0', description: 'Predictive-maintenance orchestrator' },
    },
  });

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/api/health',
    { schema: { summary: 'Liveness, where the fleet poll stands and whether the telematics API is reachable' } },
    async () => {
      const telematics = deps.loop.telematics;
      // Still alive and answering: an unreachable telematics API degrades the service, cases wait.
      return {
        status: telematics.state === 'closed' ? 'ok' : 'degraded',
        time: isoTime(deps.clock.now()),
        last_poll: deps.loop.lastPoll,
        telematics,
      };
    },
  );

  app.get('/api/statistics', { schema: { summary: 'Fleet and workflow statistics (the seed shape)' } }, async () =>
    deps.loop.getStatistics(),
  );

  app.get(
    '/api/workflows',
    { schema: { summary: 'Workflows, filtered and paged', querystring: WorkflowListQuery } },
    async (req) => {
      const q = req.query as WorkflowListQuery;
      const page = await deps.store.listWorkflows({
        limit: q.limit ?? 50,
        ...(q.state ? { state: q.state } : {}),
        ...(q.urgency ? { urgency: q.urgency } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return { workflows: page.items.map((wf) => summary(wf)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/workflows/:vin',
    {
      schema: {
        summary: 'Status of a vehicle’s current workflow, or of one of its cases by correlation_id',
        params: VinParams,
        querystring: StatusQuery,
        response: { 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { vin } = req.params as VinParams;
      const { correlation_id: cid } = req.query as StatusQuery;
      const status = cid ? await deps.loop.getCaseStatus(cid) : await deps.loop.getWorkflowStatus(vin);
      if (!status || status.vin !== vin) {
        return reply.code(404).send({ error: 'not_found', message: `no workflow for VIN ${vin}${cid ? ` with correlation_id ${cid}` : ''}` });
      }
      return status;
    },
  );

  app.get(
    '/api/labels',
    {
      schema: {
        summary: 'Technicians’ findings per serviced component (confirmed / not_found), the learned model’s training labels',
        querystring: LabelListQuery,
        response: { 200: LabelList, 400: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query as LabelListQuery;
      const [page, counts] = await Promise.all([
        deps.store.listLabels({
          limit: q.limit ?? 100,
          ...(q.cursor ? { cursor: q.cursor } : {}),
          ...(q.since !== undefined ? { since: q.since } : {}),
        }),
        deps.store.countLabels(),
      ]);
      return { items: page.items, next_cursor: page.nextCursor, counts };
    },
  );

  app.get(
    '/api/quarantine',
    { schema: { summary: 'Rejected telemetry kept for inspection, newest first', querystring: QuarantineQuery, response: { 400: ErrorBody } } },
    async (req) => {
      const { limit = 100 } = req.query as QuarantineQuery;
      const rows = await deps.store.listQuarantine(limit);
      return {
        samples: rows.map((r) => ({
          received_at: isoTime(r.receivedAt),
          vin: r.vin,
          source: r.source,
          reason: r.rejection.reason,
          field: r.rejection.field,
          message: r.rejection.message,
          raw: r.raw,
        })),
      };
    },
  );

  /**
   * Why a well-formed answer cannot be used (422), or null: a centre the scheduler does not have, or a
   * preferred time no booking can be made for. Refused, not silently ignored, so the customer can correct it.
   */
  const unfitAnswer = async (b: CustomerResponseBody): Promise<ErrorReply | null> => {
    if (b.preferred_time !== undefined) {
      const at = Date.parse(b.preferred_time);
      const now = deps.clock.now();
      const [from, to] = [now - PREFERRED_TIME_PAST_MS, now + PREFERRED_TIME_AHEAD_MS];
      if (!(at >= from && at <= to)) {
        const message = `preferred_time must lie between ${isoTime(from)} and ${isoTime(to)} (a day back to a year ahead); got ${b.preferred_time}`;
        return { error: 'out_of_range', field: 'preferred_time', message };
      }
    }
    if (b.center_id !== undefined && deps.knownCenters) {
      let known: readonly string[];
      try {
        known = await deps.knownCenters();
      } catch (err) {
        deps.log?.warn({ err: (err as Error).message }, 'service centres unknown; center_id taken unchecked');
        return null;
      }
      if (!known.includes(b.center_id)) {
        return { error: 'unknown_center', field: 'center_id', message: `center_id ${b.center_id} is not a service centre; known: ${known.join(', ')}` };
      }
    }
    return null;
  };

  /**
   * Previews the input against its case and publishes it when the case would take it. Input the case
   * would not take is answered without being published: the orchestrator would refuse or ignore it too.
   */
  const submit = async (messageType: InputType, correlationId: string, payload: object): Promise<Submitted> => {
    const env: Envelope = deps.envelopes.create({
      messageType,
      receiver: 'orchestrator',
      correlationId,
      priority: 3,
      payload,
    });
    const preview = await deps.loop.preview(env);
    if (preview.status !== 'applicable') return preview;
    try {
      await deps.bus.publish(INPUT_CHANNELS[messageType], env);
    } catch (err) {
      deps.log?.warn({ err: (err as Error).message, message_type: messageType, correlation_id: correlationId }, 'bus did not take an input');
      return { status: 'unpublished', error: (err as Error).message };
    }
    return { status: 'published', state: preview.state };
  };

  const answer = async (reply: FastifyReply, correlationId: string, result: Submitted) => {
    switch (result.status) {
      case 'published':
        // Taken by the bus: the orchestrator applies it (on the in-process bus, already has).
        return reply.code(202).send({ status: 'recorded', correlation_id: correlationId, state: result.state });
      case 'unpublished':
        return reply.code(503).send({ error: 'unavailable', message: `the input could not be passed on; send it again (${result.error})` });
      case 'rejected':
        return reply.code(400).send({ error: 'invalid_request', message: result.reason });
      case 'refused':
        return reply.code(422).send({ error: 'mismatch', message: `workflow ${correlationId}: ${result.reason}` });
      case 'ignored':
        if (!result.workflow) return reply.code(404).send({ error: 'not_found', message: `no workflow ${correlationId}` });
        return reply.code(409).send({
          error: 'not_applicable',
          message: `workflow ${correlationId} is ${result.workflow.state}: ${result.reason}`,
        });
      default: {
        const _exhaustive: never = result;
        return _exhaustive;
      }
    }
  };

  app.post(
    '/api/customer-responses',
    {
      schema: {
        summary: 'A customer accepts or declines (the portal and the notification links post here)',
        body: CustomerResponseBody,
        response: INPUT_RESPONSES,
      },
    },
    async (req, reply) => {
      const b = req.body as CustomerResponseBody;
      const unfit = await unfitAnswer(b);
      if (unfit) return reply.code(422).send(unfit);
      const payload = { ...b, responded_at: isoTime(deps.clock.now()) };
      return answer(reply, b.correlation_id, await submit('customer_response', b.correlation_id, payload));
    },
  );

  app.post(
    '/api/feedback',
    { schema: { summary: 'Customer feedback after service', body: FeedbackBody, response: INPUT_RESPONSES } },
    async (req, reply) => {
      const b = req.body as FeedbackBody;
      const payload = { ...b, received_at: isoTime(deps.clock.now()) };
      return answer(reply, b.correlation_id, await submit('feedback_received', b.correlation_id, payload));
    },
  );

  app.post(
    '/api/webhooks/service-completed',
    {
      schema: {
        summary: 'The scheduler reports a finished service with the technician’s findings',
        body: ServiceCompletedBody,
        response: INPUT_RESPONSES,
      },
    },
    async (req, reply) => {
      const b = req.body as ServiceCompletedBody;
      if (b.appointment && b.appointment.appointment_id !== b.appointment_id) {
        const message = `appointment.appointment_id must be the report's appointment_id ${b.appointment_id}`;
        return reply.code(400).send({ error: 'invalid_request', field: 'appointment.appointment_id', message });
      }
      const correlationId = b.correlation_id ?? (await deps.store.getCurrentWorkflow(b.vin))?.correlationId;
      if (!correlationId) return reply.code(404).send({ error: 'not_found', message: `no workflow for VIN ${b.vin}` });
      const result = await submit('service_completed', correlationId, b);
      // The scheduler retries until it gets a 2xx. A report for a closed case is acknowledged (it can never
      // apply); one for an open case that is not ready for it gets 409, so it comes again instead of being lost.
      if (result.status === 'ignored' && result.workflow?.state === 'completed') {
        return reply.code(200).send({ status: 'duplicate', correlation_id: correlationId, state: result.workflow.state });
      }
      return answer(reply, correlationId, result);
    },
  );

  // The pino logger's type is wider than Fastify's base logger; callers only need the base instance.
  return app as unknown as FastifyInstance;
}

function summary(wf: Workflow) {
  return {
    vin: wf.vin,
    correlation_id: wf.correlationId,
    state: wf.state,
    urgency_level: wf.urgency,
    predicted_days_to_failure: wf.analysis?.predicted_days_to_failure ?? null,
    components: [...new Set((wf.analysis?.predicted_failures ?? []).map((f) => f.component))],
    outcome: wf.outcome,
    findings: wf.service?.findings.map((f) => ({ component: f.component, finding: f.finding })) ?? [],
    retry_count: wf.retryCount,
    error_count: wf.errorCount,
    last_update: isoTime(wf.updatedAt),
  };
}
