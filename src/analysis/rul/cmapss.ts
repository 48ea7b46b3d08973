/**
 * Reader for NASA C-MAPSS trajectory files: whitespace-separated, no header, 26 columns
 * (unit, cycle, 3 operational settings, 21 sensors). Every error names the file, line and column.
 */
import { readFile } from 'node:fs/promises';
import { RulErrorCodes, RulInputError } from './errors.js';

export const CMAPSS_COLUMNS = 26;
/** Columns after unit and cycle: 3 settings then 21 sensors. */
export const CMAPSS_CHANNELS = CMAPSS_COLUMNS - 2;

export interface CmapssUnit {
  unit: number;
  /** cycle numbers, strictly increasing */
  cycles: number[];
  /** one row per cycle, CMAPSS_CHANNELS values (settings 1–3, sensors 1–21) */
  rows: Float64Array[];
}

/** Units in order of first appearance. */
export function parseCmapss(text: string, source: string): CmapssUnit[] {
  const units = new Map<number, CmapssUnit>();
  const lines = text.split(/\r?\n/);
  let rowCount = 0;
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!.trim();
    if (line === '') continue;
    const where = `${source}:${ln + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== CMAPSS_COLUMNS) {
      throw new RulInputError(
        RulErrorCodes.badColumns,
        `${where}: expected ${CMAPSS_COLUMNS} columns (unit, cycle, 3 settings, 21 sensors), got ${fields.length}`,
      );
    }
    const values = fields.map((f, col) => {
      const v = Number(f);
      if (!Number.isFinite(v))
        throw new RulInputError(RulErrorCodes.notANumber, `${where} column ${col + 1}: "${f}" is not a number`);
      return v;
    });
    const unit = values[0]!;
    const cycle = values[1]!;
    if (!Number.isInteger(unit) || !Number.isInteger(cycle)) {
      const col = Number.isInteger(unit) ? 2 : 1;
      throw new RulInputError(
        RulErrorCodes.notANumber,
        `${where} column ${col}: "${fields[col - 1]}" is not a whole ${col === 1 ? 'unit number' : 'cycle number'}`,
      );
    }
    let u = units.get(unit);
    if (!u) {
      u = { unit, cycles: [], rows: [] };
      units.set(unit, u);
    }
    const prev = u.cycles.at(-1);
    if (prev !== undefined && cycle <= prev) {
      throw new RulInputError(
        RulErrorCodes.badOrder,
        `${where} column 2: cycle ${cycle} of unit ${unit} does not follow cycle ${prev}`,
      );
    }
    u.cycles.push(cycle);
    u.rows.push(Float64Array.from(values.slice(2)));
    rowCount++;
  }
  if (rowCount === 0) throw new RulInputError(RulErrorCodes.emptyInput, `${source}: no data rows`);
  return [...units.values()];
}

export async function readCmapss(path: string): Promise<CmapssUnit[]> {
  return parseCmapss(await readText(path), path);
}

/** One true RUL per line, as RUL_FD001.txt. */
export function parseRulList(text: string, source: string): number[] {
  const out: number[] = [];
  text.split(/\r?\n/).forEach((raw, ln) => {
    const line = raw.trim();
    if (line === '') return;
    const v = Number(line);
    if (!Number.isFinite(v))
      throw new RulInputError(RulErrorCodes.notANumber, `${source}:${ln + 1} column 1: "${line}" is not a number`);
    out.push(v);
  });
  if (out.length === 0) throw new RulInputError(RulErrorCodes.emptyInput, `${source}: no values`);
  return out;
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RulInputError(RulErrorCodes.fileNotFound, `${path}: no such file`, { cause: err });
    if (code === 'EISDIR')
      throw new RulInputError(RulErrorCodes.fileNotFound, `${path}: is a directory, not a file`, { cause: err });
    throw err;
  }
}
