/** Small benchmark helpers: repeated timing with a median, machine facts, a printed table. */
import os from 'node:os';

export interface Measure {
  name: string;
  value: number;
  unit: string;
  /** The floor measured in the same run, same unit; ratio = value / floor. */
  floor?: { name: string; value: number };
  target?: string;
  met?: boolean;
  note?: string;
}

/** Runs `fn` (which returns how many operations it did) `runs` times; returns the median ops/s. */
export function opsPerSecond(fn: () => number, runs = 5): number {
  fn(); // warm-up: JIT, prepared statements, page cache
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const ops = fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(ops / s);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/** Starts a stopwatch; the returned function gives the seconds since. */
export function stopwatch(): () => number {
  const t0 = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Like opsPerSecond for async work that times itself (so set-up inside a run is not counted):
 * `fn` returns the operations done and the seconds they took.
 */
export async function medianRateAsync(fn: () => Promise<{ ops: number; seconds: number }>, runs = 3): Promise<number> {
  await fn();
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await fn();
    rates.push(r.ops / r.seconds);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/**
 * Runs `task(0…n-1)` keeping `inFlight` of them outstanding (started in one tick, as a dispatcher
 * starts a window of fetches); resolves with the results in order.
 */
export async function inWindows<T>(n: number, inFlight: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += inFlight) {
    const window: Promise<T>[] = [];
    for (let k = i; k < Math.min(n, i + inFlight); k++) window.push(task(k));
    out.push(...(await Promise.all(window)));
  }
  return out;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}

export function printTable(rows: Measure[]): void {
  const lines = rows.map((r) => [
    r.name,
    `${fmt(r.value)} ${r.unit}`,
    r.floor ? `${fmt(r.floor.value)} (${r.floor.name})` : '',
    r.floor ? `${(r.value / r.floor.value).toFixed(3)}×` : '',
    r.target ? `${r.target} ${r.met ? 'met' : 'MISSED'}` : '',
  ]);
  const head = ['measure', 'value', 'floor (same run)', 'ratio', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(row(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(row(l));
  const notes = rows.filter((r) => r.note);
  if (notes.length > 0) console.log('');
  for (const r of notes) console.log(`${r.name}: ${r.note}`);
}
