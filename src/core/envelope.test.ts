import { describe, expect, it } from 'vitest';
import { canonicalJson, isExpired, signingInput, type EnvelopeHeader } from './envelope.js';

describe('canonicalJson', () => {
  it('does not depend on key order, at any depth', () => {
    const a = { b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } };
    const b = { a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[1,{"x":1,"y":2}]},"b":1}');
  });

  it('keeps array order', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('drops undefined fields, as JSON.stringify does, and writes non-finite numbers as null', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined, NaN, Infinity])).toBe('[null,null,null]');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('é"')).toBe(JSON.stringify('é"'));
  });

  it('round-trips through JSON.parse to the same text', () => {
    const value = { z: [1, 'two', { k: null }], a: true, m: { n: -0.5 } };
    const text = canonicalJson(value);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });
});

const header: EnvelopeHeader = {
  message_id: '0194355c-8a00-7000-8000-000000000000',
  correlation_id: 'workflow-1HGCM82633A004352-1736164800000',
  causation_id: null,
  sender: 'orchestrator',
  receiver: 'data_analysis',
  message_type: 'analysis_request',
  priority: 3,
  timestamp: '2025-01-06T12:00:00.000Z',
  ttl_ms: 60_000,
  attempt: 1,
  schema_version: 1,
  signature: 'abc',
};

describe('signingInput', () => {
  it('covers every header field but the signature, and the payload', () => {
    const input = signingInput({ header, payload: { vin: 'x' } });
    expect(input).not.toContain('signature');
    expect(input).toContain('"message_id"');
    expect(input).toContain('"payload":{"vin":"x"}');
    expect(signingInput({ header: { ...header, signature: 'other' }, payload: { vin: 'x' } })).toBe(input);
    expect(signingInput({ header: { ...header, priority: 4 }, payload: { vin: 'x' } })).not.toBe(input);
  });
});

describe('isExpired', () => {
  const sent = Date.parse(header.timestamp);
  it('expires strictly after timestamp + ttl_ms', () => {
    expect(isExpired(header, sent + 60_000)).toBe(false);
    expect(isExpired(header, sent + 60_001)).toBe(true);
  });
  it('never expires with ttl_ms 0', () => {
    expect(isExpired({ ...header, ttl_ms: 0 }, sent + 1e12)).toBe(false);
  });
});
