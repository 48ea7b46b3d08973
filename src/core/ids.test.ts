import { describe, expect, it } from 'vitest';
import { correlationIdFor, formatUuidV7, isVin } from './ids.js';

const bytes = (fill: number): Uint8Array => new Uint8Array(10).fill(fill);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('formatUuidV7', () => {
  it('puts the millisecond timestamp in the first 48 bits', () => {
    const ms = Date.UTC(2025, 0, 6, 12);
    const id = formatUuidV7(ms, bytes(0));
    expect(id).toMatch(UUID);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sets version 7 and the RFC 9562 variant whatever the random bytes', () => {
    for (const fill of [0x00, 0xff, 0x5a, 0xa5]) {
      const hex = formatUuidV7(1_700_000_000_000, bytes(fill)).replace(/-/g, '');
      expect(hex[12]).toBe('7');
      expect(parseInt(hex[16] ?? '', 16) & 0b1100).toBe(0b1000);
    }
  });

  it('keeps the random bits outside version and variant', () => {
    const hex = formatUuidV7(0, bytes(0xff)).replace(/-/g, '');
    expect(hex).toBe('000000000000' + '7fff' + 'bfff' + 'ffffffffffff');
  });

  it('sorts by time: a later millisecond sorts after, whatever the randomness', () => {
    const ids = [0, 1, 255, 256, 65_536, Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 1) + 1, 2 ** 47].map((ms, i) =>
      formatUuidV7(ms, bytes(i % 2 === 0 ? 0xff : 0x00)),
    );
    expect([...ids].sort()).toEqual(ids);
  });

  it('rejects fewer than 10 random bytes', () => {
    expect(() => formatUuidV7(0, new Uint8Array(9))).toThrow(RangeError);
  });
});

describe('correlationIdFor', () => {
  it('is workflow-{vin}-{epoch_ms}', () => {
    expect(correlationIdFor('1HGCM82633A004352', 1736164800000)).toBe('workflow-1HGCM82633A004352-1736164800000');
  });
});

describe('isVin', () => {
  it('accepts 17 characters without I, O or Q', () => {
    expect(isVin('1HGCM82633A004352')).toBe(true);
    expect(isVin('1HGCM82633A00435')).toBe(false);
    expect(isVin('1HGCM82633A0043I2')).toBe(false);
    expect(isVin('1hgcm82633a004352')).toBe(false);
    expect(isVin(42)).toBe(false);
  });
});
