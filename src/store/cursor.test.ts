import { describe, expect, it } from 'vitest';
import { decodeCursor, decodeLabelCursor, encodeCursor, encodeLabelCursor, pageLimit } from './cursor.js';
import { isInvalidCursor, isStoreArgumentError } from './errors.js';

describe('workflow listing cursor', () => {
  it('round-trips a position through an opaque url-safe string', () => {
    const pos = { createdAt: 1736150400123, correlationId: 'workflow-1HGCM82633A004352-1736150400123' };
    const cursor = encodeCursor(pos);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(pos);
  });

  it.each([
    '',
    'not-a-cursor',
    encodeCursor({ createdAt: 1, correlationId: 'x' }).slice(0, 5),
    Buffer.from('[1]').toString('base64url'),
    Buffer.from('["1","x"]').toString('base64url'),
  ])('rejects %j with a coded error', (cursor) => {
    let caught: unknown;
    try {
      decodeCursor(cursor);
    } catch (err) {
      caught = err;
    }
    expect(isInvalidCursor(caught)).toBe(true);
  });

  it('accepts page sizes from 1 and caps large ones', () => {
    expect(pageLimit(1)).toBe(1);
    expect(pageLimit(50_000)).toBe(1000);
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => pageLimit(bad)).toThrow(expect.objectContaining({ code: 'PW_STORE_INVALID_ARGUMENT' }));
    try {
      pageLimit(0);
    } catch (err) {
      expect(isStoreArgumentError(err)).toBe(true);
    }
  });
});

describe('label listing cursor', () => {
  it('round-trips a position, and neither listing takes the other’s cursor', () => {
    const pos = { servicedAt: 1736150400123, correlationId: 'workflow-1HGCM82633A004352-1', component: 'brakes' };
    const cursor = encodeLabelCursor(pos);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeLabelCursor(cursor)).toEqual(pos);
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ code: 'PW_INVALID_CURSOR' }));
    const workflowCursor = encodeCursor({ createdAt: 1, correlationId: 'x' });
    expect(() => decodeLabelCursor(workflowCursor)).toThrow(expect.objectContaining({ code: 'PW_INVALID_CURSOR' }));
    expect(() => decodeLabelCursor('%%')).toThrow(expect.objectContaining({ code: 'PW_INVALID_CURSOR' }));
  });
});
