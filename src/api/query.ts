/**
 * Query strings and paths arrive as text; their numeric parameters are parsed here, strictly, before the
 * route's schema checks them. Ajv's own coercion is off for the whole API because it is loose: it also
 * turned body values into other types (a number VIN, `rating: "5"`, `decision: ["accept"]`), and even for
 * a query it takes "1e9", " 5" and "0x10" as numbers. Here only plain decimals are numbers; anything else
 * stays text and the schema refuses it, naming the parameter and the range it accepts.
 */
import type { FastifyRequest } from 'fastify';
import type { FieldSchema } from './errors.js';

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Replaces, in place, the plain-decimal strings of the schema's integer and number properties by numbers. */
export function parseNumbers(schema: FieldSchema | undefined, values: unknown): void {
  if (!schema?.properties || values === null || typeof values !== 'object') return;
  const record = values as Record<string, unknown>;
  for (const [name, property] of Object.entries(schema.properties)) {
    const raw = record[name];
    if (typeof raw !== 'string') continue;
    const pattern = property.type === 'integer' ? INTEGER : property.type === 'number' ? DECIMAL : null;
    if (!pattern?.test(raw)) continue;
    const n = Number(raw);
    // Beyond 2^53 a decimal no longer names one number; leave it to be refused as text.
    if (Number.isSafeInteger(Math.trunc(n))) record[name] = n;
  }
}

/** A preValidation hook: the route's query string and path parameters, numbers parsed by their schema. */
export async function parseRequestNumbers(req: FastifyRequest): Promise<void> {
  const schema = req.routeOptions.schema as { querystring?: FieldSchema; params?: FieldSchema } | undefined;
  parseNumbers(schema?.querystring, req.query);
  parseNumbers(schema?.params, req.params);
}
