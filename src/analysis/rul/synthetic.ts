/**
 * Synthetic run-to-failure trajectories in C-MAPSS layout, for tests: a hidden wear level rises
 * over the last part of each life and moves a few sensors, the rest are constant or pure noise.
 */
import { CMAPSS_CHANNELS, type CmapssUnit } from './cmapss.js';
import { mulberry32 } from '../../core/prng.js';

export interface SyntheticOptions {
  units: number;
  seed: number;
  minLife: number;
  maxLife: number;
  /** cycles before failure at which wear starts to show */
  onset: number;
  /** cut each unit this share of the way through its life (test-style); 1 = run to failure */
  cutAt?: () => number;
}

export function syntheticUnits(o: SyntheticOptions): { units: CmapssUnit[]; trueRul: number[] } {
  const rand = mulberry32(o.seed);
  const noise = (): number => (rand() + rand() + rand() - 1.5) * 0.5;
  const units: CmapssUnit[] = [];
  const trueRul: number[] = [];
  for (let u = 1; u <= o.units; u++) {
    const life = o.minLife + Math.floor(rand() * (o.maxLife - o.minLife + 1));
    const seen = o.cutAt ? Math.max(5, Math.floor(life * o.cutAt())) : life;
    const cycles: number[] = [];
    const rows: Float64Array[] = [];
    for (let t = 1; t <= seen; t++) {
      const wear = Math.max(0, (t - (life - o.onset)) / o.onset) ** 1.5;
      const row = new Float64Array(CMAPSS_CHANNELS);
      row[0] = noise() * 0.001; // settings: one condition plus noise
      row[3] = 518.67; // constant sensor
      row[4] = 640 + 4 * wear + noise();
      row[5] = 1590 + 20 * wear + 4 * noise();
      row[6] = 550 - 5 * wear + noise();
      row[7] = 47 + noise(); // noise only
      cycles.push(t);
      rows.push(row);
    }
    units.push({ unit: u, cycles, rows });
    trueRul.push(life - seen);
  }
  return { units, trueRul };
}

/** The same units written as a C-MAPSS text file. */
export function toCmapssText(units: readonly CmapssUnit[]): string {
  const lines: string[] = [];
  for (const u of units)
    u.rows.forEach((r, i) => lines.push([u.unit, u.cycles[i]!, ...Array.from(r, (v) => v.toFixed(4))].join(' ')));
  return `${lines.join('\n')}\n`;
}
