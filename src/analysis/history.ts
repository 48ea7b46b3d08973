/**
 * What the analysis agent remembers of each vehicle between requests: for every rule signal, its daily
 * levels over the last HISTORY_DAYS days and its learned normal (baseline). A request carries a
 * fortnight of samples; with the days remembered from earlier requests a trend is fitted over a month,
 * so a slow drift stands out from the noise of one week, and from a cold start or a cranking dip, which
 * the rules' reading conditions already leave out.
 *
 * Memory is bounded twice: each vehicle's state is one fixed-size Int16Array (levels quantised to the
 * rule's `resolution`), and the store keeps at most `maxVehicles` vehicles, forgetting the least
 * recently analysed one first (it relearns from its next requests).
 */
import { createHash } from 'node:crypto';
import { DAY } from '../core/clock.js';
import { SIGNAL_RULES, type SignalRule } from './rules/thresholds.js';
import type { Point } from './trend.js';
import { fitLine, isSignificant, median } from './trend.js';

/** Days of daily levels remembered per signal. */
export const HISTORY_DAYS = 32;
/** Complete days of data a baseline is learned from: the first steady ones (then kept until the vehicle is serviced). */
export const BASELINE_DAYS = 14;
/** @default maxVehicles */
export const DEFAULT_MAX_VEHICLES = 100_000;

const MISSING = -32768;
/** Epoch days are stored as offsets from 2000-01-01, which fit an Int16 until 2089. */
const DAY_BASE = 10_957;

export interface Baseline {
  /** median of the daily levels it was learned from, in the rule's unit */
  level: number;
  /** robust spread of those levels (1.4826 × MAD, floored at the rule's resolution) */
  spread: number;
  days: number;
}

/** A signal of a rule, and its place in a vehicle's state. */
export interface SignalSlot {
  rule: SignalRule;
  signal: string;
  index: number;
}

export function signalSlots(rules: readonly SignalRule[] = SIGNAL_RULES): SignalSlot[] {
  const slots: SignalSlot[] = [];
  for (const rule of rules) for (const signal of rule.signals) slots.push({ rule, signal, index: slots.length });
  return slots;
}

/**
 * One vehicle's state, laid out in a single Int16Array:
 * [ring of HISTORY_DAYS day numbers][levels: slot × HISTORY_DAYS][baseline level × slots][baseline spread × slots]
 * [baseline days × slots].
 */
export class VehicleHistory {
  private readonly data: Int16Array;
  private readonly slots: number;

  constructor(slots: number, data?: Int16Array) {
    this.slots = slots;
    const length = HISTORY_DAYS + slots * HISTORY_DAYS + 3 * slots;
    if (data && data.length !== length) throw new RangeError(`a vehicle history of ${slots} slots holds ${length} values, got ${data.length}`);
    this.data = data ?? new Int16Array(length).fill(MISSING);
  }

  /** The state as bytes (little-endian Int16), for `HistoryStore.restore`. */
  toBytes(): Buffer {
    const out = Buffer.alloc(this.data.byteLength);
    for (let i = 0; i < this.data.length; i++) out.writeInt16LE(this.data[i]!, i * 2);
    return out;
  }

  /** Bytes of state (the typed array's payload). */
  get byteLength(): number {
    return this.data.byteLength;
  }

  private levelAt(slot: number, pos: number): number {
    return this.data[HISTORY_DAYS + slot * HISTORY_DAYS + pos]!;
  }

  /**
   * The remembered daily levels of a slot for days before `beforeDay` (epoch day), oldest first, each at
   * its day's noon. Days in the ring after `beforeDay` are left out: the request has fresher data for them.
   */
  older(slot: SignalSlot, beforeDay: number): Point[] {
    const out: { day: number; v: number }[] = [];
    for (let pos = 0; pos < HISTORY_DAYS; pos++) {
      const stored = this.data[pos]!;
      if (stored === MISSING) continue;
      const day = stored + DAY_BASE;
      const q = this.levelAt(slot.index, pos);
      if (day >= beforeDay || q === MISSING) continue;
      out.push({ day, v: q * slot.rule.resolution });
    }
    return out.sort((a, b) => a.day - b.day).map((p) => ({ t: p.day * DAY + DAY / 2, v: p.v }));
  }

  /** Remembers a slot's daily levels (newer data for a day replaces older), then learns its baseline once enough complete days exist. */
  record(slot: SignalSlot, daily: readonly Point[], today: number): void {
    for (const p of daily) {
      const day = Math.floor(p.t / DAY);
      const pos = day % HISTORY_DAYS;
      const offset = day - DAY_BASE;
      if (offset < -32767 || offset > 32767) continue;
      if (this.data[pos] !== offset) {
        // The ring position held an older day: every slot's level for it is stale now.
        this.data[pos] = offset;
        for (let s = 0; s < this.slots; s++) this.data[HISTORY_DAYS + s * HISTORY_DAYS + pos] = MISSING;
      }
      const q = Math.round(p.v / slot.rule.resolution);
      this.data[HISTORY_DAYS + slot.index * HISTORY_DAYS + pos] = Math.max(-32767, Math.min(32767, q));
    }
    if (this.baselineDays(slot.index) === 0) this.learnBaseline(slot, today);
  }

  private baselineDays(slot: number): number {
    const d = this.data[HISTORY_DAYS + this.slots * HISTORY_DAYS + 2 * this.slots + slot]!;
    return d === MISSING ? 0 : d;
  }

  private learnBaseline(slot: SignalSlot, today: number): void {
    const known = this.older(slot, today);
    // The earliest steady fortnight: its newest day is long settled. A signal moving steadily through a
    // fortnight is a fault on its way (or a vehicle first seen with one), not a normal, so a later
    // fortnight is tried. Wear-like signals only ever move; their first fortnight is their normal.
    let days: Point[] | undefined;
    for (let from = 0; from + BASELINE_DAYS <= known.length && !days; from++) {
      const window = known.slice(from, from + BASELINE_DAYS);
      if (slot.rule.cumulative || isSteady(window, slot.rule.minDelta)) days = window;
    }
    if (!days) return;
    const values = days.map((p) => p.v);
    const level = median(values);
    const mad = median(values.map((v) => Math.abs(v - level)));
    const spread = Math.max(slot.rule.resolution, 1.4826 * mad);
    const base = HISTORY_DAYS + this.slots * HISTORY_DAYS;
    const r = slot.rule.resolution;
    this.data[base + slot.index] = Math.max(-32767, Math.min(32767, Math.round(level / r)));
    this.data[base + this.slots + slot.index] = Math.min(32767, Math.round(spread / r));
    this.data[base + 2 * this.slots + slot.index] = BASELINE_DAYS;
  }

  baseline(slot: SignalSlot): Baseline | null {
    const days = this.baselineDays(slot.index);
    if (days === 0) return null;
    const base = HISTORY_DAYS + this.slots * HISTORY_DAYS;
    const r = slot.rule.resolution;
    return { level: this.data[base + slot.index]! * r, spread: this.data[base + this.slots + slot.index]! * r, days };
  }

  /** Forgets everything before `day` (epoch day): a service replaced the parts those days describe. */
  forgetBefore(day: number): void {
    let forgot = false;
    for (let pos = 0; pos < HISTORY_DAYS; pos++) {
      const stored = this.data[pos]!;
      if (stored === MISSING || stored + DAY_BASE >= day) continue;
      this.data[pos] = MISSING;
      for (let s = 0; s < this.slots; s++) this.data[HISTORY_DAYS + s * HISTORY_DAYS + pos] = MISSING;
      forgot = true;
    }
    // The normal was learned on the old parts: learn it again on the new ones.
    if (forgot) this.data.fill(MISSING, HISTORY_DAYS + this.slots * HISTORY_DAYS);
  }
}

export interface HistoryStoreOptions {
  /** @default 100 000 */
  maxVehicles?: number;
  /** @default SIGNAL_RULES */
  rules?: readonly SignalRule[];
}

/**
 * A vehicle's memory as it travels between processes: `h1.<layout>.<base64 state>`. The layout is a
 * fingerprint of what each value means (days kept, the rules' signals and resolutions): a memory written
 * under other rules is not misread but dropped, and the vehicle's normal relearned.
 */
export type VehicleMemorySnapshot = string;

const SNAPSHOT_VERSION = 'h1';

/** Vehicle histories by VIN, least recently used first out. */
export class HistoryStore {
  readonly slots: readonly SignalSlot[];
  /** Fingerprint of the state layout these rules give (see VehicleMemorySnapshot). */
  readonly layout: string;
  private readonly bySignal = new Map<SignalRule, Map<string, SignalSlot>>();
  private readonly vehicles = new Map<string, VehicleHistory>();
  private readonly maxVehicles: number;

  constructor(opts: HistoryStoreOptions = {}) {
    this.maxVehicles = opts.maxVehicles ?? DEFAULT_MAX_VEHICLES;
    if (!Number.isInteger(this.maxVehicles) || this.maxVehicles < 1) throw new RangeError(`maxVehicles must be an integer ≥ 1, got ${this.maxVehicles}`);
    this.slots = signalSlots(opts.rules);
    this.layout = createHash('sha256')
      .update(JSON.stringify([HISTORY_DAYS, BASELINE_DAYS, this.slots.map((s) => [s.rule.id, s.signal, s.rule.resolution])]))
      .digest('base64url')
      .slice(0, 12);
    for (const slot of this.slots) {
      const m = this.bySignal.get(slot.rule) ?? new Map<string, SignalSlot>();
      m.set(slot.signal, slot);
      this.bySignal.set(slot.rule, m);
    }
  }

  get size(): number {
    return this.vehicles.size;
  }

  slot(rule: SignalRule, signal: string): SignalSlot | undefined {
    return this.bySignal.get(rule)?.get(signal);
  }

  /** The vehicle's history (created empty on first use), marked as the most recently used. */
  vehicle(vin: string): VehicleHistory {
    let h = this.vehicles.get(vin);
    if (h) this.vehicles.delete(vin);
    else h = new VehicleHistory(this.slots.length);
    this.vehicles.set(vin, h);
    if (this.vehicles.size > this.maxVehicles) this.vehicles.delete(this.vehicles.keys().next().value!);
    return h;
  }

  has(vin: string): boolean {
    return this.vehicles.has(vin);
  }

  /** The vehicle's memory as a snapshot, or null when nothing is remembered of it. */
  snapshot(vin: string): VehicleMemorySnapshot | null {
    const h = this.vehicles.get(vin);
    return h ? `${SNAPSHOT_VERSION}.${this.layout}.${h.toBytes().toString('base64')}` : null;
  }

  /**
   * Takes a snapshot (from `snapshot`, possibly of another process) as the vehicle's memory. Returns
   * false, remembering nothing of the vehicle, for one of another layout or that does not decode: the
   * vehicle's normal is then learned again from its requests, as for a vehicle seen for the first time.
   */
  restore(vin: string, snapshot: VehicleMemorySnapshot): boolean {
    this.vehicles.delete(vin);
    const [version, layout, body] = snapshot.split('.');
    if (version !== SNAPSHOT_VERSION || layout !== this.layout || body === undefined) return false;
    const bytes = Buffer.from(body, 'base64');
    const length = HISTORY_DAYS + this.slots.length * HISTORY_DAYS + 3 * this.slots.length;
    if (bytes.length !== length * 2) return false;
    const data = new Int16Array(length);
    for (let i = 0; i < length; i++) data[i] = bytes.readInt16LE(i * 2);
    this.vehicles.set(vin, new VehicleHistory(this.slots.length, data));
    if (this.vehicles.size > this.maxVehicles) this.vehicles.delete(this.vehicles.keys().next().value!);
    return true;
  }

  /** Forgets the vehicle (after its memory was handed back to whoever keeps it). */
  forget(vin: string): void {
    this.vehicles.delete(vin);
  }
}

/**
 * Daily levels that could be a normal: no significant trend of at least `minDelta`, and no step either
 * (the two halves' medians apart by `minDelta` and by three of their robust spreads), as when a fortnight
 * holds the end of a fault and the days after its repair. A healthy car's day-to-day scatter (an idle day,
 * a motorway day) is neither.
 */
function isSteady(days: readonly Point[], minDelta: number): boolean {
  const fit = fitLine(days);
  if (fit && isSignificant(fit) && Math.abs(fit.slope * fit.spanDays) >= minDelta) return false;
  const half = Math.floor(days.length / 2);
  const halves = [days.slice(0, half), days.slice(half)].map((h) => h.map((p) => p.v));
  const [m1, m2] = halves.map((h) => median(h)) as [number, number];
  const spread = 1.4826 * median(halves.flatMap((h, i) => h.map((v) => Math.abs(v - (i === 0 ? m1 : m2)))));
  const shift = Math.abs(m1 - m2);
  return !(shift >= minDelta && shift >= 3 * spread);
}

/** A drift of a level from its baseline, in the rule's degrading direction (positive = towards the limit). */
export function driftFromBaseline(rule: SignalRule, baseline: Baseline, level: number): number {
  return rule.direction === 'above' ? level - baseline.level : baseline.level - level;
}
