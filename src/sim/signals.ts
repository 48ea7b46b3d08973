/**
 * Telemetry of one vehicle at one instant: a pure function of its parameters, the time and its repairs.
 * Values are in the canonical VSS units of src/core/telemetry.ts. Normal ranges follow the healthy
 * Toyota Etios OBD logs (coolant 79-91 °C warm, module voltage 12.4 parked / 13.6-14.3 charging).
 */
import { DAY } from '../core/clock.js';
import { SIGNALS, type Component } from '../core/telemetry.js';
import { ambientAt, hoursParked, isDriving, odometerAt, type DrivingProfile } from './driving.js';
import { severity, type PlantedFault } from './faults.js';
import { gauss, unit } from './random.js';
import type { Powertrain } from './vehicles.js';

export interface VehicleModel {
  vin: string;
  powertrain: Powertrain;
  driving: DrivingProfile;
  startTime: number;
  /** Healthy pad wear (%) at start time, and its growth per km. */
  padBase: number;
  padPerKm: number;
  /** Cold tyre pressure per wheel (kPa). */
  tyreBase: number[];
  /** Resting 12 V battery voltage when healthy. */
  batteryRest: number;
  /** Traction battery state of health (%) at start time; null for ICE. */
  sohBase: number | null;
  faults: PlantedFault[];
}

/** Repair times per component, oldest first. */
export type RepairLog = Partial<Record<Component, number[]>>;

export interface SignalValues {
  signals: Record<string, number>;
  dtcs: string[];
}

/** Values at which a planted fault is at its failure point (severity 1). */
export const FAILURE_POINTS = {
  padWearPercent: 95,
  tyrePressureKpa: 150,
  batteryVoltageDrop: 1.1,
  tractionSohPercent: 70,
  coolantRiseC: 28,
  oilPressureFactor: 0.3,
  transmissionRiseC: 50,
} as const;

const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

function lastRepairAtOrBefore(log: number[] | undefined, t: number): number | undefined {
  if (!log) return undefined;
  let found: number | undefined;
  for (const r of log) if (r <= t) found = r;
  return found;
}

/** Cooling of a parked engine or gearbox toward the outside temperature. */
function cooled(warm: number, ambient: number, parkedHours: number, tauHours: number): number {
  if (!Number.isFinite(parkedHours)) return ambient;
  return ambient + (warm - ambient) * Math.exp(-(parkedHours + 0.25) / tauHours);
}

export function computeSignals(m: VehicleModel, t: number, repairs: RepairLog): SignalValues {
  const k = m.driving.key;
  const sev: Partial<Record<Component, { s: number; f: PlantedFault }>> = {};
  for (const f of m.faults) {
    const s = severity(f, t, repairs[f.component]?.[0]);
    if (s > 0) sev[f.component] = { s, f };
  }
  const s = (c: Component): number => sev[c]?.s ?? 0;
  const driving = isDriving(m.driving, t);
  const parked = driving ? 0 : hoursParked(m.driving, t);
  const ambient = ambientAt(m.driving, t);
  const odometer = odometerAt(m.driving, t);
  const speed = driving ? clamp(18 + 90 * unit(k, 21, t) + 3 * gauss(k, 22, t), 3, 180) : 0;
  const signals: Record<string, number> = {};
  const dtcs: string[] = [];
  signals[SIGNALS.speed] = round(speed, 1);
  signals[SIGNALS.odometer] = round(odometer, 1);

  if (m.powertrain !== 'ev') {
    const electricOnly = m.powertrain === 'hybrid' && speed < 45 && unit(k, 23, t) < 0.4;
    const rpm = driving && !electricOnly ? clamp(750 + speed * 22 + 60 * gauss(k, 24, t), 650, 6500) : 0;
    const warmCoolant = 89 + 1.5 * gauss(k, 25, t) + s('cooling') * FAILURE_POINTS.coolantRiseC;
    const coolant = driving ? warmCoolant - (electricOnly ? 4 : 0) : cooled(warmCoolant, ambient, parked, 1.5);
    const warmOil = warmCoolant + 6 + 1.5 * gauss(k, 26, t) + s('engine_oil') * 12;
    const oilFactor = 1 - (1 - FAILURE_POINTS.oilPressureFactor) * Math.min(1, s('engine_oil'));
    signals[SIGNALS.engineSpeed] = Math.round(rpm);
    signals[SIGNALS.coolantTemp] = round(coolant, 1);
    signals[SIGNALS.oilTemp] = round(driving ? warmOil : cooled(warmOil, ambient, parked, 2), 1);
    signals[SIGNALS.oilPressure] = rpm > 0 ? Math.round(Math.max(0, (120 + 0.09 * rpm) * oilFactor + 8 * gauss(k, 27, t))) : 0;
    if (s('cooling') >= 0.75) dtcs.push('P0217');
    if (s('engine_oil') >= 0.6) dtcs.push('P0521');
    if (s('engine_oil') >= 0.8) dtcs.push('P0524');
  }

  const warmGearbox = 72 + speed * 0.12 + 1.5 * gauss(k, 28, t) + s('transmission') * FAILURE_POINTS.transmissionRiseC;
  signals[SIGNALS.transmissionTemp] = round(driving ? warmGearbox : cooled(warmGearbox, ambient, parked, 2.5), 1);
  if (s('transmission') >= 0.75) dtcs.push('P0218');

  const battery = sev.battery;
  const voltageDrop = battery?.f.mode === 'low_voltage' ? battery.s * FAILURE_POINTS.batteryVoltageDrop : 0;
  const volts = (driving ? 14.05 : m.batteryRest) - voltageDrop + 0.04 * gauss(k, 29, t);
  signals[SIGNALS.batteryVoltage] = round(clamp(volts, 0, 20), 2);
  if (voltageDrop > 0 && battery && battery.s >= 0.8) dtcs.push('P0562');

  if (m.sohBase !== null) {
    const plantedTraction = m.faults.some((f) => f.mode === 'traction_degradation');
    const replaced = plantedTraction ? lastRepairAtOrBefore(repairs.battery, t) : undefined;
    const ageDays = (t - (replaced ?? m.startTime)) / DAY;
    const base = replaced !== undefined ? 98 : m.sohBase;
    const tractionSev = battery?.f.mode === 'traction_degradation' ? battery.s : 0;
    const soh = base - 0.002 * ageDays - tractionSev * (m.sohBase - FAILURE_POINTS.tractionSohPercent) + 0.15 * gauss(k, 30, t);
    signals[SIGNALS.batteryHealth] = round(clamp(soh, 0, 100), 1);
    if (tractionSev >= 0.8) dtcs.push('P0A7F');
    if (tractionSev >= 1) dtcs.push('P0A80');
  }

  const tyre = sev.tyres;
  SIGNALS.tyrePressure.forEach((path, wheel) => {
    const base = m.tyreBase[wheel] ?? 240;
    const leak = tyre && tyre.f.wheels.includes(wheel) ? Math.min(1, tyre.s) * (base - FAILURE_POINTS.tyrePressureKpa) : 0;
    const warm = driving ? 1.06 : 1 + 0.04 * Math.exp(-parked);
    signals[path] = round(clamp((base - leak) * warm + 1.5 * gauss(k, 31 + wheel, t), 0, 600), 1);
  });
  if (tyre && tyre.s >= 0.7) dtcs.push('C0077');

  const brake = sev.brakes;
  const lastPads = lastRepairAtOrBefore(repairs.brakes, t);
  const padRef = lastPads ?? m.startTime;
  const padStart = lastPads !== undefined ? 3 : m.padBase;
  const healthyPad = padStart + m.padPerKm * (odometer - odometerAt(m.driving, padRef));
  // The fault adds whatever lifts the pad to the failure point at failsAt (natural wear estimated from daily km).
  const padAtFail = brake
    ? m.padBase + (m.padPerKm * m.driving.dailyKm * (brake.f.failsAt - m.startTime)) / DAY
    : 0;
  SIGNALS.padWear.forEach((path, wheel) => {
    const axle = wheel < 2 ? 1 : 0.7;
    const faulty = brake && brake.f.wheels.includes(wheel);
    const extra = faulty ? brake.s * (FAILURE_POINTS.padWearPercent - padAtFail * axle) : 0;
    signals[path] = round(clamp(healthyPad * axle + extra + 0.2 * gauss(k, 35 + wheel, t), 0, 100), 1);
  });
  if (brake && brake.s >= 0.8) dtcs.push('C004A');
  return { signals, dtcs };
}
