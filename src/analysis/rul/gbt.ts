/**
 * Histogram-based gradient-boosted regression trees (squared loss), in plain TypeScript.
 * Features are bucketed once into at most `bins` quantile bins, so finding a split costs one pass
 * over the node's rows per feature instead of a sort; the smaller child's histogram is built and
 * the larger one's is the parent's minus it. Row and column subsampling draw from a seeded PRNG,
 * so the same seed gives the same trees.
 */
import { mulberry32 } from '../../core/prng.js';

export interface GbtParams {
  rounds: number;
  learningRate: number;
  maxDepth: number;
  /** fewest training rows in a leaf */
  minLeaf: number;
  /** L2 penalty on leaf values */
  lambda: number;
  /** share of rows each tree sees */
  rowSample: number;
  /** share of features each tree may split on */
  colSample: number;
  /** at most 256, bins are stored in a byte */
  bins: number;
}

export const DEFAULT_GBT_PARAMS: GbtParams = {
  rounds: 400,
  learningRate: 0.05,
  maxDepth: 4,
  minLeaf: 60,
  lambda: 1,
  rowSample: 0.8,
  colSample: 0.8,
  bins: 64,
};

/** Flat arrays, one entry per node; a leaf has feature −1. Go left when x ≤ threshold. */
export interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

export interface GbtModel {
  base: number;
  trees: Tree[];
}

export interface Matrix {
  rows: number;
  cols: number;
  /** row-major */
  data: Float64Array;
}

export function predictTree(tree: Tree, x: Float64Array, offset: number): number {
  let node = 0;
  while (tree.feature[node]! >= 0) {
    node = x[offset + tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  }
  return tree.value[node]!;
}

export function predictGbt(model: GbtModel, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows).fill(model.base);
  for (const tree of model.trees) {
    for (let r = 0; r < x.rows; r++) out[r]! += predictTree(tree, x.data, r * x.cols);
  }
  return out;
}

interface Binned {
  /** column-major bin indices */
  bins: Uint8Array;
  /** per feature, the upper edge of each bin but the last */
  edges: Float64Array[];
}

function binFeatures(x: Matrix, maxBins: number): Binned {
  const { rows, cols, data } = x;
  const bins = new Uint8Array(rows * cols);
  const edges: Float64Array[] = [];
  const col = new Float64Array(rows);
  for (let f = 0; f < cols; f++) {
    for (let r = 0; r < rows; r++) col[r] = data[r * cols + f]!;
    const sorted = Float64Array.from(col).sort();
    const e: number[] = [];
    for (let k = 1; k < maxBins; k++) {
      const v = sorted[Math.min(rows - 1, Math.floor((k * rows) / maxBins))]!;
      if (e.length === 0 || v > e[e.length - 1]!) e.push(v);
    }
    // The top edge would leave an empty last bin only when it equals the maximum; drop it then.
    if (e.length > 0 && e[e.length - 1]! >= sorted[rows - 1]!) e.pop();
    const fe = Float64Array.from(e);
    edges.push(fe);
    for (let r = 0; r < rows; r++) bins[f * rows + r] = binOf(fe, col[r]!);
  }
  return { bins, edges };
}

/** Index of the first edge ≥ v (values ≤ edge[b] fall in bin b). */
function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface TrainProgress {
  round: number;
  rounds: number;
}

export function trainGbt(
  x: Matrix,
  y: Float64Array,
  params: GbtParams,
  seed: number,
  onProgress?: (p: TrainProgress) => void,
): GbtModel {
  if (params.bins > 256 || params.bins < 2) throw new RangeError(`bins must be from 2 to 256, got ${params.bins}`);
  const { rows, cols } = x;
  const binned = binFeatures(x, params.bins);
  const nb = params.bins;
  const rand = mulberry32(seed);
  let base = 0;
  for (let r = 0; r < rows; r++) base += y[r]!;
  base /= rows;
  const pred = new Float64Array(rows).fill(base);
  const grad = new Float64Array(rows);
  const idx = new Int32Array(rows);
  const scratch = new Int32Array(rows);
  const trees: Tree[] = [];
  const ctx: GrowContext = { binned, rows, cols, nb, grad, idx, scratch, params, features: [] };
  for (let round = 0; round < params.rounds; round++) {
    let n = 0;
    for (let r = 0; r < rows; r++) {
      grad[r] = pred[r]! - y[r]!;
      if (rand() < params.rowSample) idx[n++] = r;
    }
    const features: number[] = [];
    for (let f = 0; f < cols; f++) if (rand() < params.colSample) features.push(f);
    if (features.length === 0) features.push(Math.floor(rand() * cols));
    ctx.features = features;
    const tree: BuildTree = { feature: [], threshold: [], left: [], right: [], value: [], bin: [] };
    grow(ctx, tree, 0, n, 0, null);
    for (let r = 0; r < rows; r++) {
      let node = 0;
      while (tree.feature[node]! >= 0) {
        node = binned.bins[tree.feature[node]! * rows + r]! <= tree.bin[node]! ? tree.left[node]! : tree.right[node]!;
      }
      pred[r]! += tree.value[node]!;
    }
    trees.push({
      feature: tree.feature,
      threshold: tree.threshold,
      left: tree.left,
      right: tree.right,
      value: tree.value,
    });
    onProgress?.({ round: round + 1, rounds: params.rounds });
  }
  return { base, trees };
}

interface BuildTree extends Tree {
  bin: number[];
}

interface GrowContext {
  binned: Binned;
  rows: number;
  cols: number;
  nb: number;
  grad: Float64Array;
  idx: Int32Array;
  scratch: Int32Array;
  params: GbtParams;
  features: number[];
}

/** Gradient sums and counts per (feature, bin), feature-major. */
interface Histogram {
  g: Float64Array;
  c: Float64Array;
}

function buildHistogram(ctx: GrowContext, start: number, end: number): Histogram {
  const { nb, rows, cols, binned, grad, idx } = ctx;
  const g = new Float64Array(cols * nb);
  const c = new Float64Array(cols * nb);
  for (const f of ctx.features) {
    const off = f * rows;
    const hOff = f * nb;
    for (let i = start; i < end; i++) {
      const r = idx[i]!;
      const b = hOff + binned.bins[off + r]!;
      g[b]! += grad[r]!;
      c[b]! += 1;
    }
  }
  return { g, c };
}

function grow(
  ctx: GrowContext,
  tree: BuildTree,
  start: number,
  end: number,
  depth: number,
  given: Histogram | null,
): number {
  const node = tree.feature.length;
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.value.push(0);
  tree.bin.push(0);
  const { params, grad, idx, nb } = ctx;
  const count = end - start;
  let gSum = 0;
  for (let i = start; i < end; i++) gSum += grad[idx[i]!]!;
  const leafValue = (-gSum / (count + params.lambda)) * params.learningRate;
  if (depth >= params.maxDepth || count < 2 * params.minLeaf) {
    tree.value[node] = leafValue;
    return node;
  }
  const hist = given ?? buildHistogram(ctx, start, end);
  const parentScore = (gSum * gSum) / (count + params.lambda);
  let bestGain = 1e-12;
  let bestF = -1;
  let bestB = -1;
  for (const f of ctx.features) {
    const hOff = f * nb;
    let gl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      gl += hist.g[hOff + b]!;
      cl += hist.c[hOff + b]!;
      if (cl < params.minLeaf) continue;
      const cr = count - cl;
      if (cr < params.minLeaf) break;
      const gr = gSum - gl;
      const gain = (gl * gl) / (cl + params.lambda) + (gr * gr) / (cr + params.lambda) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        bestF = f;
        bestB = b;
      }
    }
  }
  if (bestF < 0) {
    tree.value[node] = leafValue;
    return node;
  }
  // Stable partition, so that row order (and with it every floating-point sum) is reproducible.
  const off = bestF * ctx.rows;
  let l = start;
  let s = 0;
  for (let i = start; i < end; i++) {
    const r = idx[i]!;
    if (ctx.binned.bins[off + r]! <= bestB) idx[l++] = r;
    else ctx.scratch[s++] = r;
  }
  idx.set(ctx.scratch.subarray(0, s), l);
  const mid = l;
  let leftHist: Histogram | null = null;
  let rightHist: Histogram | null = null;
  if (depth + 1 < params.maxDepth) {
    const leftSmaller = mid - start <= end - mid;
    const small = leftSmaller ? buildHistogram(ctx, start, mid) : buildHistogram(ctx, mid, end);
    const large: Histogram = { g: hist.g.slice(), c: hist.c.slice() };
    for (let k = 0; k < large.g.length; k++) {
      large.g[k]! -= small.g[k]!;
      large.c[k]! -= small.c[k]!;
    }
    leftHist = leftSmaller ? small : large;
    rightHist = leftSmaller ? large : small;
  }
  tree.feature[node] = bestF;
  tree.bin[node] = bestB;
  tree.threshold[node] = ctx.binned.edges[bestF]![bestB]!;
  tree.left[node] = grow(ctx, tree, start, mid, depth + 1, leftHist);
  tree.right[node] = grow(ctx, tree, mid, end, depth + 1, rightHist);
  return node;
}
