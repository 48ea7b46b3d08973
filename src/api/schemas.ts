/** Wire schemas of the HTTP API in TypeBox: validated by Fastify, published as OpenAPI. */
import { Type, type Static } from '@sinclair/typebox';
import { WORKFLOW_STATES } from '../core/workflow.js';
import { URGENCY_LEVELS } from '../core/urgency.js';
import { COMPONENTS } from '../core/telemetry.js';

/** A string enum (JSON Schema `enum`) typed as the union of its values. */
const literals = <T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });

export const Vin = Type.String({ pattern: '^[A-HJ-NPR-Z0-9]{17}$', description: '17-character VIN' });
export const CorrelationId = Type.String({ minLength: 1, maxLength: 200 });

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
    preferred_time: Type.Optional(Type.String({ format: 'date-time' })),
    center_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
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

export const ServiceCompletedBody = Type.Object(
  {
    vin: Vin,
    appointment_id: Type.String({ minLength: 1, maxLength: 200 }),
    correlation_id: Type.Optional(CorrelationId),
    completed_at: Type.String({ format: 'date-time' }),
    findings: Type.Array(
      Type.Object({
        component: literals(COMPONENTS),
        finding: literals(['confirmed', 'not_found'] as const),
        notes: Type.Optional(Type.String({ maxLength: 2000 })),
      }),
      { maxItems: 20 },
    ),
  },
  { additionalProperties: false },
);
export type ServiceCompletedBody = Static<typeof ServiceCompletedBody>;

export const WorkflowListQuery = Type.Object(
  {
    state: Type.Optional(literals(WORKFLOW_STATES)),
    urgency: Type.Optional(literals(URGENCY_LEVELS)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type WorkflowListQuery = Static<typeof WorkflowListQuery>;

export const VinParams = Type.Object({ vin: Vin });

export const StatusQuery = Type.Object({ correlation_id: Type.Optional(CorrelationId) }, { additionalProperties: false });
export type StatusQuery = Static<typeof StatusQuery>;
export type VinParams = Static<typeof VinParams>;

export const Accepted = Type.Object({
  status: literals(['recorded', 'duplicate'] as const),
  correlation_id: Type.String(),
  state: Type.String({ description: 'workflow state after the input was applied' }),
});
