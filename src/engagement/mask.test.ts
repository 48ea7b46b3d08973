import { describe, expect, it } from 'vitest';
import { maskEmail, maskPhone } from './mask.js';

describe('masking contact details', () => {
  it('keeps the first letter and the domain of an e-mail address', () => {
    expect(maskEmail('jane.doe@example.com')).toBe('j***@example.com');
    expect(maskEmail('a@b.io')).toBe('a***@b.io');
  });

  it('hides malformed e-mail addresses entirely', () => {
    for (const bad of ['', 'nobody', '@example.com', 'x@']) expect(maskEmail(bad)).toBe('***');
  });

  it('keeps the country code and the last two digits of a phone number', () => {
    expect(maskPhone('+33 6 12 34 56 12')).toBe('+33*******12');
    expect(maskPhone('+33612345612')).toBe('+33*******12');
    expect(maskPhone('0612345678')).toBe('********78');
    expect(maskPhone('12')).toBe('***');
  });

  it('never leaves a run of the original digits in the middle', () => {
    const masked = maskPhone('+44 7700 900123');
    expect(masked).not.toMatch(/7700|900/);
    expect(masked.endsWith('23')).toBe(true);
  });
});
