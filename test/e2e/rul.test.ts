/** `pitwall rul train` / `predict` as a user runs them, on synthetic run-to-failure data in a temp dir. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticUnits, toCmapssText } from '../../src/analysis/rul/synthetic.js';
import { mulberry32 } from '../../src/core/prng.js';
import { runCli } from './harness.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pitwall-rul-'));
const file = (name: string): string => path.join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pitwall rul', () => {
  it('trains a model file, then prints `unit_number predicted_rul` for each test unit', async () => {
    writeFileSync(file('train.txt'), toCmapssText(syntheticUnits({ units: 20, seed: 1, minLife: 150, maxLife: 220, onset: 100 }).units));
    const rand = mulberry32(2);
    const test = syntheticUnits({ units: 8, seed: 2, minLife: 150, maxLife: 220, onset: 100, cutAt: () => 0.5 + 0.45 * rand() });
    writeFileSync(file('test.txt'), toCmapssText(test.units));

    const trained = await runCli(['rul', 'train', '--format', 'cmapss', file('train.txt'), '--out', file('model.json'), '--seed', '4']);
    expect(trained.code).toBe(0);
    expect(trained.stdout).toBe('');
    expect(trained.stderr).toMatch(/training: model 1\/\d+, round \d+\/\d+/);
    expect(trained.stderr).toMatch(/wrote .*model\.json: \d+ trees/);
    expect(JSON.parse(readFileSync(file('model.json'), 'utf8'))).toMatchObject({ format: 'pitwall-rul-model', version: 1, seed: 4 });

    const predicted = await runCli(['rul', 'predict', '--format', 'cmapss', '--model', file('model.json'), file('test.txt')]);
    expect(predicted.code).toBe(0);
    const lines = predicted.stdout.trim().split('\n');
    expect(lines).toHaveLength(8);
    lines.forEach((line, i) => {
      expect(line).toMatch(/^\d+ \d+(\.\d+)?$/);
      const [unit, rul] = line.split(' ').map(Number) as [number, number];
      expect(unit).toBe(i + 1);
      expect(Math.abs(rul - Math.min(125, test.trueRul[i]!))).toBeLessThan(30);
    });
  });

  it('refuses bad input with one line naming the file, line and column, and exit code 1', async () => {
    writeFileSync(file('short.txt'), '1 1 0.1 0.2\n');
    writeFileSync(file('text.txt'), `1 1 ${Array<string>(24).fill('0.5').join(' ')}\n1 2 0.1 x ${Array<string>(22).fill('0.5').join(' ')}\n`);
    writeFileSync(file('empty.txt'), '');
    writeFileSync(file('other.json'), '{"format":"something-else"}');
    const cases: [string[], RegExp][] = [
      [['rul', 'train', file('missing.txt'), '--out', file('m.json')], /missing\.txt: no such file/],
      [['rul', 'train', file('short.txt'), '--out', file('m.json')], /short\.txt:1: expected 26 columns .* got 4/],
      [['rul', 'train', file('text.txt'), '--out', file('m.json')], /text\.txt:2 column 4: "x" is not a number/],
      [['rul', 'train', file('empty.txt'), '--out', file('m.json')], /empty\.txt: no data rows/],
      [['rul', 'predict', '--model', file('other.json'), file('short.txt')], /other\.json: not a Pitwall RUL model \(format is "something-else"/],
      [['rul', 'train', '--format', 'csv', file('short.txt'), '--out', file('m.json')], /--format.*'csv' is invalid.*cmapss/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
