import { describe, expect, it } from 'vitest';
import { errorCodes, type FastifyError } from 'fastify';
import { accepted, clientError } from './errors.js';
import { CustomerResponseBody, Limit, Vin } from './schemas.js';

/** Every error Fastify defines, constructed as Fastify would raise it. */
const fastifyErrors = Object.entries(errorCodes).map(([code, Ctor]) => {
  const err = new (Ctor as unknown as new (...args: string[]) => FastifyError)('a', 'b', 'c');
  return { code, err };
});

describe('API errors', () => {
  it('says every Fastify client error in its own words: a snake_case code of ours, never FST_…', () => {
    const client = fastifyErrors.filter(({ err }) => (err.statusCode ?? 500) >= 400 && (err.statusCode ?? 500) < 500);
    // The ones a client can cause: content types, bodies, URLs (a new Fastify version adds more, and they are covered).
    expect(client.map((c) => c.code)).toEqual(
      expect.arrayContaining(['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_BAD_URL']),
    );
    for (const { code, err } of client) {
      const mapped = clientError(err, { contentType: 'text/plain', bodyLimit: 1024 });
      expect({ code, status: mapped?.status }).toEqual({ code, status: expect.any(Number) });
      expect(mapped!.status).toBeGreaterThanOrEqual(400);
      expect(mapped!.status).toBeLessThan(500);
      expect({ code, error: mapped!.body.error }).toEqual({ code, error: expect.stringMatching(/^[a-z][a-z0-9_]*$/) });
      expect(JSON.stringify(mapped!.body)).not.toMatch(/FST_|%s/);
      expect({ code, message: mapped!.body.message }).toEqual({ code, message: expect.stringMatching(/^.{10,}$/) });
    }
  });

  it('leaves server errors (5xx) to the caller, which answers them as internal without detail', () => {
    const server = fastifyErrors.filter(({ err }) => (err.statusCode ?? 500) >= 500);
    expect(server.length).toBeGreaterThan(0);
    for (const { err } of server) expect(clientError(err)).toBeNull();
    expect(clientError(new Error('boom') as FastifyError)).toBeNull();
  });

  it('keeps a snake_case code of ours and names any other 4xx by its status', () => {
    expect(clientError({ code: 'invalid_cursor', statusCode: 400, message: 'bad cursor' })).toEqual({ status: 400, body: { error: 'invalid_cursor', message: 'bad cursor' } });
    expect(clientError({ code: 'ERR_SOMETHING', statusCode: 405, message: 'no' })).toEqual({ status: 405, body: { error: 'method_not_allowed', message: 'no' } });
  });

  it('says what a field accepts in words', () => {
    expect(accepted(Limit(50))).toBe('an integer from 1 to 500');
    expect(accepted(Vin)).toBe('a 17-character VIN (digits and capitals, no I, O or Q)');
    expect(accepted(CustomerResponseBody.properties.decision)).toBe('one of accept, decline');
    expect(accepted(CustomerResponseBody.properties.preferred_time)).toMatch(/^an ISO-8601 date-time/);
    expect(accepted(CustomerResponseBody.properties.comment)).toBe('a string of at most 2000 characters');
  });
});
