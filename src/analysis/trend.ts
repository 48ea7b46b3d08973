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

/** A slope smaller than this many standard errors could be noise. */
const MIN_SLOPE_T = 3;
/** A line explaining less of the variance than this is not a trend. */
const MIN_TREND_R2 = 0.5;

/** The series really moves: its slope stands clear of its standard error, and the line explains it. */
export function isSignificant(fit: LinearFit): boolean {
  return Math.abs(fit.slope) >= MIN_SLOPE_T * fit.slopeStdErr && fit.r2 >= MIN_TREND_R2;
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

/**
 * Days from `now` until a degrading series reaches `target`, from a quadratic through its last points:
 * wear accelerates near the end (a leak widens, a pad's backing plate heats), and a straight line through
 * the last days answers days late exactly when it matters most. The curvature is used only when it bends
 * towards the target; otherwise the local slope at `now` is. 0 when the series has already moved through the
 * target; null when it is not moving towards the target at `now`, or with fewer than three points.
 */
export function daysUntilAccelerating(points: readonly Point[], target: number, now: number): number | null {
  const n = points.length;
  if (n < 3) return null;
  // Centred on the mean time, so the normal equations stay well conditioned.
  const xs = points.map((p) => (p.t - now) / DAY);
  const ys = points.map((p) => p.v);
  const q = solveQuadratic(xs, ys);
  const line = fitLine(points);
  if (!line) return null;
  const current = q ? q.a : valueAt(line, now);
  const gap = target - current;
  if (gap === 0 || Math.sign(gap) !== Math.sign(q ? q.b : line.slope)) {
    if (gap === 0) return 0;
    // A course that started short of the target and has moved on through it, its newest point included,
    // is there already: a signal just past its failure point is not "moving away" from it. (A fit that
    // only overshoots a plateau short of the target, as a line through a step does, is not.)
    const startGap = target - valueAt(line, points[0]!.t);
    const lastGap = target - points[n - 1]!.v;
    const towards = Math.sign(line.slope);
    if (towards !== 0 && Math.sign(startGap) === towards && Math.sign(gap) !== towards && Math.sign(lastGap) !== towards) return 0;
    // Moving away (or flat) at `now` by the quadratic: fall back to the straight line over all points.
    return line.slope !== 0 && Math.sign(line.slope) === Math.sign(gap) ? gap / line.slope : null;
  }
  if (!q) return gap / line.slope;
  const { b, c } = q;
  // Curvature bending towards the target (same sign as the gap) shortens the way; otherwise ignore it.
  if (c === 0 || Math.sign(c) !== Math.sign(gap)) return gap / b;
  // c·d² + b·d − gap = 0, the positive root.
  const disc = b * b + 4 * c * gap;
  return disc < 0 ? gap / b : (-b + Math.sign(b) * Math.sqrt(disc)) / (2 * c);
}

/** Least squares y = a + b·x + c·x², or null when the points cannot determine a parabola. */
function solveQuadratic(xs: readonly number[], ys: readonly number[]): { a: number; b: number; c: number } | null {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, t0 = 0, t1 = 0, t2 = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    const x2 = x * x;
    s0 += 1; s1 += x; s2 += x2; s3 += x2 * x; s4 += x2 * x2;
    t0 += y; t1 += x * y; t2 += x2 * y;
  }
  // Cramer's rule on the 3×3 normal equations.
  const det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2);
  if (Math.abs(det) < 1e-9) return null;
  const a = (t0 * (s2 * s4 - s3 * s3) - s1 * (t1 * s4 - s3 * t2) + s2 * (t1 * s3 - s2 * t2)) / det;
  const b = (s0 * (t1 * s4 - t2 * s3) - t0 * (s1 * s4 - s3 * s2) + s2 * (s1 * t2 - t1 * s2)) / det;
  const c = (s0 * (s2 * t2 - s3 * t1) - s1 * (s1 * t2 - s2 * t1) + t0 * (s1 * s3 - s2 * s2)) / det;
  return { a, b, c };
}
