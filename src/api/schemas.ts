/** Wire schemas of the HTTP API in TypeBox: validated by Fastify, published as OpenAPI. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SERVICE_FINDINGS } from '../core/payloads.js';
import { WORKFLOW_STATES } from '../core/workflow.js';
import { URGENCY_LEVELS } from '../core/urgency.js';
import { COMPONENTS } from '../core/telemetry.js';

/** A string enum (JSON Schema `enum`) typed as the union of its values. */
const literals = <T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });

export const Vin = Type.String({ pattern: '^[A-HJ-NPR-Z0-9]{17}$', description: 'a 17-character VIN (digits and capitals, no I, O or Q)' });
export const CorrelationId = Type.String({ minLength: 1, maxLength: 200 });
const IsoTime = Type.String({ format: 'date-time', maxLength: 64, description: 'an ISO-8601 date-time, e.g. 2026-03-02T10:00:00Z' });

/** The largest page any listing returns: one definition, so every `limit` refuses the same values. */
export const MAX_PAGE = 500;
/** A listing's page size; every route's `limit` is this, only its default differs. */
export const Limit = (byDefault: number) =>
  Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: byDefault, description: `page size, 1 to ${MAX_PAGE} (default ${byDefault})` });
/** An opaque paging cursor: the previous page's next_cursor, unchanged. */
export const Cursor = Type.String({ maxLength: 500, description: 'next_cursor of the previous page, unchanged; empty for the first page' });

/** The query of a route that takes none: an unknown parameter is refused, as on every other route. */
export const NoQuery = Type.Object({}, { additionalProperties: false });

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'stable error code' }),
  message: Type.String(),
  field: Type.Optional(Type.String({ description: 'the input at fault' })),
});

export const CustomerResponseBody = Type.Object(
  {
    vin: Vin,
    correlation_id: CorrelationId,
    decision: literals(['accept', 'decline'] as const),
    preferred_time: Type.Optional(IsoTime),
    center_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'one of the scheduler’s service centres' })),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type CustomerResponseBody = Static<typeof CustomerResponseBody>;

export const FeedbackBody = Type.Object(
  {
    vin: Vin,
    correlation_id: CorrelationId,
    rating: Type.Integer({ minimum: 1, maximum: 5 }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type FeedbackBody = Static<typeof FeedbackBody>;

/** The appointment as the scheduler knows it (`Appointment` in core/payloads.ts). */
export const Appointment = Type.Object(
  {
    appointment_id: Type.String({ minLength: 1, maxLength: 200, description: 'the report’s appointment_id' }),
    center_id: Type.String({ minLength: 1, maxLength: 100 }),
    start: IsoTime,
    end: IsoTime,
    bay: Type.Integer({ minimum: 0, maximum: 1000 }),
    components: Type.Array(literals(COMPONENTS), { maxItems: COMPONENTS.length }),
  },
  { additionalProperties: false },
);

export const ServiceCompletedBody = Type.Object(
  {
    vin: Vin,
    appointment_id: Type.String({ minLength: 1, maxLength: 200 }),
    correlation_id: Type.Optional(CorrelationId),
    completed_at: IsoTime,
    findings: Type.Array(
      Type.Object({
        component: literals(COMPONENTS),
        finding: literals(['confirmed', 'not_found'] as const),
        notes: Type.Optional(Type.String({ maxLength: 2000 })),
      }),
      { maxItems: 20 },
    ),
    appointment: Type.Optional(Appointment),
  },
  { additionalProperties: false },
);
export type ServiceCompletedBody = Static<typeof ServiceCompletedBody>;

export const WorkflowListQuery = Type.Object(
  {
    state: Type.Optional(literals(WORKFLOW_STATES)),
    urgency: Type.Optional(literals(URGENCY_LEVELS)),
    limit: Type.Optional(Limit(50)),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type WorkflowListQuery = Static<typeof WorkflowListQuery>;

export const LabelListQuery = Type.Object(
  {
    limit: Type.Optional(Limit(100)),
    cursor: Type.Optional(Cursor),
    since: Type.Optional(
      Type.Integer({ minimum: 0, description: 'only labels with serviced_at >= since (epoch ms)' }),
    ),
  },
  { additionalProperties: false },
);
export type LabelListQuery = Static<typeof LabelListQuery>;

export const QuarantineQuery = Type.Object({ limit: Type.Optional(Limit(100)) }, { additionalProperties: false });
export type QuarantineQuery = Static<typeof QuarantineQuery>;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ServiceLabelBody = Type.Object({
  correlation_id: Type.String(),
  vin: Type.String(),
  component: literals(COMPONENTS),
  finding: literals(SERVICE_FINDINGS),
  serviced_at: Type.Integer({ description: 'epoch ms of the service (the report’s completed_at)' }),
  predicted: Nullable(
    Type.Object({
      mode: Type.String(),
      probability: Type.Number(),
      days_to_failure: Type.Number(),
      analysed_at: Nullable(Type.Integer({ description: 'epoch ms the analysis arrived; null if not known' })),
    }),
  ),
  notes: Type.Optional(Type.String()),
});

export const LabelList = Type.Object({
  items: Type.Array(ServiceLabelBody, { description: 'oldest serviced_at first' }),
  next_cursor: Nullable(Type.String()),
  counts: Type.Object(
    { confirmed: Type.Integer(), not_found: Type.Integer() },
    { description: 'over all labels, not only this page' },
  ),
});

export const VinParams = Type.Object({ vin: Vin });

export const StatusQuery = Type.Object({ correlation_id: Type.Optional(CorrelationId) }, { additionalProperties: false });
export type StatusQuery = Static<typeof StatusQuery>;
export type VinParams = Static<typeof VinParams>;

export const Accepted = Type.Object({
  status: literals(['recorded', 'duplicate'] as const),
  correlation_id: Type.String(),
  state: Type.String({ description: 'workflow state after the input was applied' }),
});
