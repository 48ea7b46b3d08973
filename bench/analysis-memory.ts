/**
 * Memory of the data-analysis agent's per-vehicle history (child process of bench/run.ts, started with
 * --expose-gc). Analyses a 14-day window of every vehicle into one HistoryStore, as the agent does, in
 * two stages of `--vehicles` vehicles; prints JSON: heap + array-buffer bytes per tracked vehicle for
 * each stage, and the floor: the bytes of the same windows held as parsed JSON samples.
 */
import { DAY, HOUR } from '../src/core/clock.js';
import type { TelemetrySample } from '../src/core/telemetry.js';
import { analyzeVehicle, HistoryStore } from '../src/analysis/index.js';
import { createFleet } from '../src/sim/fleet.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const i = process.argv.indexOf('--vehicles');
const N = i >= 0 ? Number(process.argv[i + 1]) : 10_000;
const T0 = Date.UTC(2026, 0, 20);

function used(): number {
  for (let k = 0; k < 3; k++) gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

// 50 distinct simulated windows, reused under different VINs: what is measured is the store, not the input.
const fleet = createFleet({ seed: 'analysis-memory', vehicles: 50, startTime: T0 - 20 * DAY });
const windows: TelemetrySample[][] = fleet.infos().map((v) => Array.from({ length: 336 }, (_, h) => fleet.sample(v.vin, T0 - (336 - h) * HOUR)!));
const vinOf = (n: number): string => `1PWMEM${String(n).padStart(11, '0')}`;

const store = new HistoryStore();
const before = used();
const stage = (from: number): void => {
  for (let n = from; n < from + N; n++) {
    const w = windows[n % windows.length]!.map((s) => ({ ...s, vin: vinOf(n) }));
    analyzeVehicle(w, T0, {}, undefined, { store, vin: vinOf(n) });
  }
};
stage(0);
const first = used();
stage(N);
const second = used();
const floorBefore = used();
const held = windows.map((w) => w.map((s) => JSON.parse(JSON.stringify(s)) as TelemetrySample));
const floorAfter = used();
console.log(
  JSON.stringify({
    vehicles: N,
    tracked: store.size,
    per_vehicle_bytes: Math.round((first - before) / N),
    per_vehicle_bytes_next: Math.round((second - first) / N),
    state_bytes: store.vehicle(vinOf(0)).byteLength,
    floor_window_bytes: Math.round((floorAfter - floorBefore) / held.length),
  }),
);
