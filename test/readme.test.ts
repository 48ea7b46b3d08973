import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderGenerated } from '../src/cli/diagram.js';
import { TRANSITIONS } from '../src/core/workflow.js';
import { SETTINGS } from '../src/cli/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('holds the current workflow diagram and settings table (run `npm run docs` after changing them)', () => {
    expect(renderGenerated(readme)).toBe(readme);
  });

  it('draws every transition of the decider and documents every setting', () => {
    for (const t of TRANSITIONS) expect(readme).toContain(`${t.from} --> ${t.to}`);
    for (const s of SETTINGS) expect(readme).toContain(`\`${s.env}\``);
  });

  it('shows the two set-up commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });
});
