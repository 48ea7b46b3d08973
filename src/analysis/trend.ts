/**
 * Least-squares trends over daily medians. Medians per day make a trend robust to the within-day noise
 * of real telemetry (warm-up, cranking dips, sensor jitter); the fit then sees one point per day.
 */
import { DAY } from '../core/clock.js';

export interface Point {
  /** epoch ms */
  t: number;
  v: number;
}

export interface LinearFit {
  /** value units per day */
  slope: number;
  /** fitted value at `origin` */
  intercept: number;
  /** epoch ms the fit is anchored at (time of the first point) */
  origin: number;
  r2: number;
  /** standard error of the slope (units per day); Infinity with fewer than 3 points */
  slopeStdErr: number;
  /** residual standard deviation */
  residualStd: number;
  n: number;
  /** days between the first and last point */
  spanDays: number;
}

/** Linear-interpolated quantile (q in [0, 1]); NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/**
 * One point per UTC day: the day's `q`-quantile value (median by default) at its median time.
 * Days with fewer than `minPerDay` points are left out.
 */
export function dailyMedians(points: readonly Point[], q = 0.5, minPerDay = 1): Point[] {
  const byDay = new Map<number, Point[]>();
  for (const p of points) {
    const day = Math.floor(p.t / DAY);
    const list = byDay.get(day);
    if (list) list.push(p);
    else byDay.set(day, [p]);
  }
  return [...byDay.entries()]
    .filter(([, ps]) => ps.length >= minPerDay)
    .sort(([a], [b]) => a - b)
    .map(([, ps]) => ({ t: median(ps.map((p) => p.t)), v: quantile(ps.map((p) => p.v), q) }));
}

export function fitLine(points: readonly Point[]): LinearFit | null {
  const n = points.length;
  if (n < 2) return null;
  const origin = points[0]!.t;
  const xs = points.map((p) => (p.t - origin) / DAY);
  const ys = points.map((p) => p.v);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  // A perfectly flat series explains nothing and leaves nothing unexplained: call it no fit quality.
  const r2 = syy === 0 ? 0 : Math.max(0, 1 - sse / syy);
  const residualVar = n > 2 ? sse / (n - 2) : Infinity;
  return {
    slope,
    intercept,
    origin,
    r2,
    slopeStdErr: n > 2 ? Math.sqrt(residualVar / sxx) : Infinity,
    residualStd: Math.sqrt(residualVar),
    n,
    spanDays: xs[n - 1]! - xs[0]!,
  };
}

export function valueAt(fit: LinearFit, t: number): number {
  return fit.intercept + fit.slope * ((t - fit.origin) / DAY);
}

/**
 * Days from `now` until the line with `slope` through the fitted value at `now` reaches `limit`,
 * or null when that slope never gets there (flat or moving away).
 */
export function daysUntil(fit: LinearFit, slope: number, limit: number, now: number): number | null {
  const current = valueAt(fit, now);
  const gap = limit - current;
  if (gap === 0) return 0;
  if (slope === 0 || Math.sign(gap) !== Math.sign(slope)) return null;
  return gap / slope;
}
