import { describe, expect, it } from 'vitest';
import {
  MAX_CLOCK_SKEW_MS,
  REJECTION_REASONS,
  SIGNALS,
  sampleToWire,
  validateSample,
  type RejectionReason,
  type ValidationResult,
} from './telemetry.js';

const VIN = '1HGCM82633A004352';
const NOW = Date.UTC(2025, 0, 6, 12);
const TS = new Date(NOW - 1000).toISOString();
const TYRE = 'Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure';

const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  vin: VIN,
  timestamp: TS,
  signals: { [SIGNALS.speed]: 80, [SIGNALS.coolantTemp]: 90 },
  ...over,
});

function accepted(r: ValidationResult): Extract<ValidationResult, { ok: true }> {
  if (!r.ok) throw new Error(`rejected: ${r.rejection.reason} ${r.rejection.field}`);
  return r;
}

describe('validateSample', () => {
  it('accepts a well-formed sample in canonical units', () => {
    const r = accepted(validateSample(valid({ dtcs: ['P0217'] }), NOW));
    expect(r.sample).toEqual({
      vin: VIN,
      ts: NOW - 1000,
      signals: { [SIGNALS.speed]: 80, [SIGNALS.coolantTemp]: 90 },
      dtcs: ['P0217'],
    });
    expect(r.ignoredSignals).toEqual([]);
  });

  const rejections: [RejectionReason, unknown, string][] = [
    ['not_an_object', [], ''],
    ['not_an_object', null, ''],
    ['not_an_object', 'text', ''],
    ['missing_vin', valid({ vin: undefined }), 'vin'],
    ['missing_vin', valid({ vin: '' }), 'vin'],
    ['invalid_vin', valid({ vin: '1HGCM82633A00435' }), 'vin'],
    ['invalid_vin', valid({ vin: 'IHGCM82633A004352' }), 'vin'],
    ['invalid_timestamp', valid({ timestamp: 'yesterday' }), 'timestamp'],
    ['invalid_timestamp', valid({ timestamp: NOW }), 'timestamp'],
    ['future_timestamp', valid({ timestamp: new Date(NOW + MAX_CLOCK_SKEW_MS + 1).toISOString() }), 'timestamp'],
    ['missing_signals', valid({ signals: undefined }), 'signals'],
    ['missing_signals', valid({ signals: [80] }), 'signals'],
    ['wrong_type', valid({ signals: { [SIGNALS.speed]: '80' } }), `signals.${SIGNALS.speed}`],
    ['wrong_type', valid({ signals: { [SIGNALS.speed]: null } }), `signals.${SIGNALS.speed}`],
    ['wrong_type', valid({ units: 'metric' }), 'units'],
    ['wrong_type', valid({ dtcs: 'P0217' }), 'dtcs'],
    ['not_finite', valid({ signals: { [SIGNALS.speed]: 'NaN' } }), `signals.${SIGNALS.speed}`],
    ['not_finite', valid({ signals: { [SIGNALS.speed]: Infinity } }), `signals.${SIGNALS.speed}`],
    ['out_of_range', valid({ signals: { [SIGNALS.speed]: 351 } }), `signals.${SIGNALS.speed}`],
    ['out_of_range', valid({ signals: { [SIGNALS.batteryHealth]: -1 } }), `signals.${SIGNALS.batteryHealth}`],
    // 400 °F is 204 °C: the range is checked after conversion.
    [
      'out_of_range',
      valid({ signals: { [SIGNALS.coolantTemp]: 400 }, units: { [SIGNALS.coolantTemp]: 'fahrenheit' } }),
      `signals.${SIGNALS.coolantTemp}`,
    ],
    [
      'unknown_unit',
      valid({ signals: { [SIGNALS.coolantTemp]: 90 }, units: { [SIGNALS.coolantTemp]: 'rankine' } }),
      `units.${SIGNALS.coolantTemp}`,
    ],
    ['invalid_dtc', valid({ dtcs: ['P0217', 'X123'] }), 'dtcs[1]'],
    ['invalid_dtc', valid({ dtcs: [217] }), 'dtcs[0]'],
  ];

  it.each(rejections)('rejects %s naming the field (%#)', (reason, input, field) => {
    const r = validateSample(input, NOW);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.rejection).toMatchObject({ reason, field });
    expect(r.rejection.message.length).toBeGreaterThan(0);
  });

  it('reports the vin with a rejection once the vin is known valid', () => {
    const bad = validateSample(valid({ timestamp: 'x' }), NOW);
    expect(bad.ok || bad.vin).toBe(VIN);
    const badVin = validateSample(valid({ vin: 'short' }), NOW);
    expect(badVin.ok || badVin.vin).toBeNull();
  });

  it('covers every rejection reason but oversized, which is the ingest edge’s size check', () => {
    const produced = new Set(rejections.map(([reason]) => reason));
    expect(REJECTION_REASONS.filter((r) => !produced.has(r))).toEqual(['oversized']);
  });

  it('accepts a timestamp just inside the allowed clock skew', () => {
    accepted(validateSample(valid({ timestamp: new Date(NOW + MAX_CLOCK_SKEW_MS).toISOString() }), NOW));
  });

  it('converts declared units to the canonical ones', () => {
    const r = accepted(
      validateSample(
        valid({
          signals: {
            [SIGNALS.coolantTemp]: 212,
            [TYRE]: 32,
            [SIGNALS.odometer]: 100,
            [SIGNALS.speed]: 10,
            [SIGNALS.oilTemp]: 373.15,
            [SIGNALS.batteryVoltage]: 12600,
          },
          units: {
            [SIGNALS.coolantTemp]: 'fahrenheit',
            [TYRE]: 'psi',
            [SIGNALS.odometer]: 'mi',
            [SIGNALS.speed]: 'm/s',
            [SIGNALS.oilTemp]: 'kelvin',
            [SIGNALS.batteryVoltage]: 'mV',
          },
        }),
        NOW,
      ),
    );
    const s = r.sample.signals;
    expect(s[SIGNALS.coolantTemp]).toBeCloseTo(100, 9);
    expect(s[TYRE]).toBeCloseTo(220.632, 3);
    expect(s[SIGNALS.odometer]).toBeCloseTo(160.9344, 9);
    expect(s[SIGNALS.speed]).toBeCloseTo(36, 9);
    expect(s[SIGNALS.oilTemp]).toBeCloseTo(100, 9);
    expect(s[SIGNALS.batteryVoltage]).toBeCloseTo(12.6, 9);
  });

  it('converts °F below freezing correctly (−40 °F = −40 °C)', () => {
    const r = accepted(
      validateSample(
        valid({ signals: { [SIGNALS.coolantTemp]: -40 }, units: { [SIGNALS.coolantTemp]: 'fahrenheit' } }),
        NOW,
      ),
    );
    expect(r.sample.signals[SIGNALS.coolantTemp]).toBeCloseTo(-40, 9);
  });

  it('ignores and lists signals it does not know, keeping the known ones', () => {
    const r = accepted(
      validateSample(valid({ signals: { [SIGNALS.speed]: 50, 'Vehicle.Cabin.Door.Row1.IsOpen': 1, foo: 'bar' } }), NOW),
    );
    expect(r.sample.signals).toEqual({ [SIGNALS.speed]: 50 });
    expect(r.ignoredSignals).toEqual(['Vehicle.Cabin.Door.Row1.IsOpen', 'foo']);
  });

  it('does not let a unit for an unknown signal fail the sample', () => {
    accepted(validateSample(valid({ units: { foo: 'furlongs' } }), NOW));
  });
});

describe('sampleToWire', () => {
  it('writes the ISO timestamp and keeps canonical values, so the wire form validates again', () => {
    const r = accepted(validateSample(valid({ dtcs: ['C1234'] }), NOW));
    const wire = sampleToWire(r.sample);
    expect(wire.timestamp).toBe(TS);
    expect(accepted(validateSample(wire, NOW)).sample).toEqual(r.sample);
  });
});
