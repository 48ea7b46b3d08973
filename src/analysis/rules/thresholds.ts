/**
 * Per-signal service limits and the conditions under which readings are comparable.
 * Limits are the project's own engineering judgement (no public source assigns them), chosen so a
 * healthy vehicle's normal operating range stays well inside them:
 * coolant 80–100 °C when warm, oil pressure > 150 kPa above 1 200 rpm, a resting 12 V battery 12.2–12.8 V,
 * tyres 200–260 kPa, pads replaced at 85 % wear, automatic transmission fluid 70–100 °C.
 */
import { DAY } from '../../core/clock.js';
import { SIGNALS, type Component, type TelemetrySample } from '../../core/telemetry.js';

export type Direction = 'above' | 'below';

export interface SignalRule {
  id: string;
  component: Component;
  /** failure mode reported when this rule fires */
  mode: string;
  /** VSS paths checked independently (one per wheel for tyres and pads) */
  signals: readonly string[];
  direction: Direction;
  /** the service limit in the signal's canonical unit */
  limit: number;
  unit: string;
  /** Only readings taken in this condition are compared and trended (engine running, resting…). */
  comparable: (s: TelemetrySample) => boolean;
  conditionLabel: string;
  /** Days to failure assumed once the limit is already passed: how soon the consequence follows. */
  exceededDays: number;
  /**
   * Where the part actually fails (beyond the service limit): metal on the disc, a tyre too soft to
   * steer, a battery that no longer cranks. Once past the service limit, the recent trend is
   * extrapolated to this point, so a fast fall is rated by how fast it falls rather than by
   * `exceededDays` alone.
   */
  failurePoint?: number;
  /**
   * The statistic of recent readings (and of each day) compared with the limit. The median by default;
   * a higher quantile for the resting battery, whose readings include brief cranking dips to ~10.3 V.
   * @default 0.5
   */
  level?: number;
  /** A trend whose fitted change over the observed span is smaller than this is noise, not wear. */
  minDelta: number;
  /** Step in which the agent remembers this signal's daily levels between requests (an Int16 each). */
  resolution: number;
  /**
   * The signal accumulates with use (pad wear, battery ageing): it has no steady normal to drift from,
   * so it gets no drift anomaly or baseline evidence; only its trend and limit count.
   */
  cumulative?: boolean;
  /**
   * A signal that depends on how the vehicle is driven is compared at one reference operating point:
   * each reading is moved along the vehicle's own least-squares slope against `covariate` to `reference`.
   * Without this, a week of more motorway driving looks like a trend.
   */
  adjust?: CovariateAdjustment;
}

export interface CovariateAdjustment {
  covariate: (s: TelemetrySample) => number | undefined;
  reference: number;
  label: string;
  /** Physically plausible slopes (signal unit per covariate unit); the fitted slope is clamped to them. */
  minSlope: number;
  maxSlope: number;
}

const RUNNING_RPM = 500;
/** Oil pressure at idle is legitimately low on a hot engine; compare it only at cruising speed. */
const OIL_PRESSURE_RPM = 1200;
/** Below this the engine is still warming up: a cold-start coolant climb is not a trend. */
const WARM_COOLANT_C = 60;

/** Oil pressure is compared as if every reading were taken at this engine speed. */
const OIL_REFERENCE_RPM = 2000;
/** Gearbox temperature is compared as if every reading were taken at this road speed. */
const GEARBOX_REFERENCE_KMH = 60;

const rpm = (s: TelemetrySample): number | undefined => s.signals[SIGNALS.engineSpeed];
const speed = (s: TelemetrySample): number | undefined => s.signals[SIGNALS.speed];
const running = (s: TelemetrySample): boolean => (rpm(s) ?? 0) >= RUNNING_RPM;
// An electric vehicle reports no engine speed at all: absent counts as stopped.
const resting = (s: TelemetrySample): boolean => (rpm(s) ?? 0) === 0 && (speed(s) ?? 0) === 0;
const moving = (s: TelemetrySample): boolean => (speed(s) ?? 0) > 0;
const always = (): boolean => true;

export const SIGNAL_RULES: readonly SignalRule[] = [
  {
    id: 'coolant_over_temperature',
    component: 'cooling',
    mode: 'overheating',
    signals: [SIGNALS.coolantTemp],
    direction: 'above',
    limit: 110,
    unit: '°C',
    comparable: (s) => running(s) && (s.signals[SIGNALS.coolantTemp] ?? 0) >= WARM_COOLANT_C,
    conditionLabel: 'engine running, warmed up',
    exceededDays: 0.25,
    // A pressurised system boils near 120 °C: past ~118 °C the engine is overheating, not just hot.
    failurePoint: 118,
    minDelta: 3,
    resolution: 0.01,
  },
  {
    id: 'oil_pressure_low',
    component: 'engine_oil',
    mode: 'low_oil_pressure',
    signals: [SIGNALS.oilPressure],
    direction: 'below',
    limit: 100,
    unit: 'kPa',
    comparable: (s) => (rpm(s) ?? 0) >= OIL_PRESSURE_RPM,
    conditionLabel: `engine above ${OIL_PRESSURE_RPM} rpm, at ${OIL_REFERENCE_RPM} rpm`,
    exceededDays: 0.25,
    // Below ~90 kPa at 2 000 rpm the bearings' oil film breaks down.
    failurePoint: 90,
    minDelta: 20,
    resolution: 0.05,
    // A gear pump's pressure rises with engine speed until the relief valve opens (~0.05–0.2 kPa/rpm).
    adjust: { covariate: rpm, reference: OIL_REFERENCE_RPM, label: 'rpm', minSlope: 0, maxSlope: 0.3 },
  },
  {
    id: 'battery_voltage_low',
    component: 'battery',
    mode: 'weak_12v_battery',
    signals: [SIGNALS.batteryVoltage],
    direction: 'below',
    limit: 11.8,
    unit: 'V',
    comparable: resting,
    conditionLabel: 'engine off, vehicle at rest',
    exceededDays: 3,
    // Resting at ~11.6 V a lead-acid battery is nearly flat and no longer cranks reliably.
    failurePoint: 11.6,
    minDelta: 0.15,
    resolution: 0.001,
    level: 0.75,
  },
  {
    id: 'traction_battery_health_low',
    component: 'battery',
    mode: 'traction_battery_degraded',
    signals: [SIGNALS.batteryHealth],
    direction: 'below',
    limit: 70,
    unit: '%',
    comparable: always,
    conditionLabel: 'any',
    exceededDays: 20,
    minDelta: 1,
    resolution: 0.01,
    cumulative: true,
  },
  {
    id: 'tyre_pressure_low',
    component: 'tyres',
    mode: 'pressure_loss',
    signals: SIGNALS.tyrePressure,
    direction: 'below',
    limit: 180,
    unit: 'kPa',
    // Tyre pressure is specified cold: a tyre warmed by driving reads ~6 % high.
    comparable: (s) => (speed(s) ?? 0) === 0,
    conditionLabel: 'parked',
    exceededDays: 2,
    failurePoint: 150,
    minDelta: 8,
    resolution: 0.05,
  },
  {
    id: 'brake_pad_wear',
    component: 'brakes',
    mode: 'pad_wear',
    signals: SIGNALS.padWear,
    direction: 'above',
    limit: 85,
    unit: '%',
    comparable: always,
    conditionLabel: 'any',
    exceededDays: 5,
    failurePoint: 95,
    minDelta: 2,
    resolution: 0.01,
    cumulative: true,
  },
  {
    id: 'transmission_over_temperature',
    component: 'transmission',
    mode: 'fluid_overheating',
    signals: [SIGNALS.transmissionTemp],
    direction: 'above',
    limit: 120,
    unit: '°C',
    // Electric drive units have a gearbox but no engine speed: driving is the condition.
    comparable: moving,
    conditionLabel: `driving, at ${GEARBOX_REFERENCE_KMH} km/h`,
    exceededDays: 0.5,
    // Automatic transmission fluid oxidises within hours above ~130 °C.
    failurePoint: 130,
    minDelta: 3,
    resolution: 0.01,
    // Churning and torque load warm the fluid with road speed (~0.1 °C per km/h).
    adjust: { covariate: speed, reference: GEARBOX_REFERENCE_KMH, label: 'km/h', minSlope: 0, maxSlope: 0.5 },
  },
];

export function beyondLimit(rule: Pick<SignalRule, 'direction' | 'limit'>, value: number): boolean {
  return rule.direction === 'above' ? value > rule.limit : value < rule.limit;
}

/** Fewer comparable readings than this cannot estimate a vehicle's own slope against its covariate. */
const MIN_ADJUST_READINGS = 12;

/**
 * Readings of one signal that satisfy the rule's condition, oldest first; moved to the rule's reference
 * operating point when it has one.
 */
export function comparableReadings(rule: SignalRule, signal: string, samples: readonly TelemetrySample[]): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  const xs: number[] = [];
  const adjust = rule.adjust;
  for (const s of samples) {
    const v = s.signals[signal];
    if (v === undefined || !rule.comparable(s)) continue;
    if (adjust) {
      const x = adjust.covariate(s);
      if (x === undefined) continue;
      xs.push(x);
    }
    out.push({ t: s.ts, v });
  }
  if (!adjust || out.length === 0) return out;
  const slope = out.length >= MIN_ADJUST_READINGS ? covariateSlope(xs, out) : 0;
  const b = Math.min(adjust.maxSlope, Math.max(adjust.minSlope, slope));
  for (let i = 0; i < out.length; i++) out[i]!.v += b * (adjust.reference - xs[i]!);
  return out;
}

/**
 * The slope of the signal against its covariate within days (each day centred on its own means), so a
 * slow change over the weeks, a fault, is not mistaken for the effect of driving faster or slower.
 */
function covariateSlope(xs: readonly number[], ys: readonly { t: number; v: number }[]): number {
  let sxx = 0;
  let sxy = 0;
  let start = 0;
  while (start < ys.length) {
    const day = Math.floor(ys[start]!.t / DAY);
    let end = start;
    let mx = 0;
    let my = 0;
    while (end < ys.length && Math.floor(ys[end]!.t / DAY) === day) {
      mx += xs[end]!;
      my += ys[end]!.v;
      end++;
    }
    const n = end - start;
    mx /= n;
    my /= n;
    for (let i = start; i < end; i++) {
      const dx = xs[i]! - mx;
      sxx += dx * dx;
      sxy += dx * (ys[i]!.v - my);
    }
    start = end;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}
