import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCmapss, parseRulList, readCmapss } from './cmapss.js';
import { RulErrorCodes, RulInputError } from './errors.js';

const row = (unit: number, cycle: number, fill = '1.5'): string =>
  [unit, cycle, ...Array<string>(24).fill(fill)].join(' ');

function failure(fn: () => unknown): RulInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RulInputError) return err;
    throw err;
  }
  throw new Error('expected a RulInputError');
}

describe('parseCmapss', () => {
  it('groups rows by unit, in order, with trailing spaces and blank lines tolerated', () => {
    const units = parseCmapss(`${row(1, 1)}  \n${row(1, 2)}\n\n${row(2, 1)}\r\n`, 'f.txt');
    expect(units.map((u) => [u.unit, u.cycles])).toEqual([
      [1, [1, 2]],
      [2, [1]],
    ]);
    expect(units[0]!.rows[0]!.length).toBe(24);
    expect(units[0]!.rows[0]![23]).toBe(1.5);
  });

  it('names the line and the column count when a row is short', () => {
    const e = failure(() => parseCmapss(`${row(1, 1)}\n1 2 3\n`, 'train.txt'));
    expect(e.code).toBe(RulErrorCodes.badColumns);
    expect(e.message).toBe('train.txt:2: expected 26 columns (unit, cycle, 3 settings, 21 sensors), got 3');
  });

  it('names the line and column of a value that is not a number', () => {
    const bad = row(1, 2).split(' ');
    bad[9] = 'abc';
    const e = failure(() => parseCmapss(`${row(1, 1)}\n${bad.join(' ')}\n`, 'train.txt'));
    expect(e.code).toBe(RulErrorCodes.notANumber);
    expect(e.message).toBe('train.txt:2 column 10: "abc" is not a number');
    expect(failure(() => parseCmapss(row(1, 1, 'NaN'), 'x')).message).toMatch(/x:1 column 3: "NaN" is not a number/);
    expect(failure(() => parseCmapss(row(1.5, 1), 'x')).message).toMatch(
      /x:1 column 1: "1.5" is not a whole unit number/,
    );
  });

  it('refuses an empty file and cycles out of order', () => {
    expect(failure(() => parseCmapss(' \n\n', 'empty.txt')).message).toBe('empty.txt: no data rows');
    const e = failure(() => parseCmapss(`${row(1, 2)}\n${row(1, 2)}\n`, 'x'));
    expect(e.code).toBe(RulErrorCodes.badOrder);
    expect(e.message).toMatch(/x:2 column 2: cycle 2 of unit 1 does not follow cycle 2/);
  });

  it('says which file is missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rul-'));
    await expect(readCmapss(path.join(dir, 'nope.txt'))).rejects.toThrow(/nope\.txt: no such file/);
    writeFileSync(path.join(dir, 'ok.txt'), row(3, 1));
    expect((await readCmapss(path.join(dir, 'ok.txt')))[0]!.unit).toBe(3);
  });
});

describe('parseRulList', () => {
  it('reads one value per line and names a bad one', () => {
    expect(parseRulList('112\n98 \n\n', 'r')).toEqual([112, 98]);
    expect(() => parseRulList('1\nx\n', 'r')).toThrow('r:2 column 1: "x" is not a number');
  });
});
