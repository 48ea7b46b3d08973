/** The CLI as a new user meets it: help, defaults, and one-line errors for wrong input. */
import { describe, expect, it } from 'vitest';
import { freePort, runCli } from './harness.js';

describe('pitwall CLI', () => {
  it('lists its commands', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['start', 'orchestrator', 'mock', 'stats', 'status']) expect(r.stdout).toContain(c);
  });

  it('documents every option of start with its default and environment variable', async () => {
    const r = await runCli(['start', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--vehicles <N>[\s\S]*PITWALL_VEHICLES[\s\S]*default:\s+50/);
    expect(r.stdout).toMatch(/--speed <N>[\s\S]*default:\s+3600/);
  });

  const wrong: [string[], RegExp][] = [
    [['start', '--port', 'abc'], /--port.*'abc' is invalid.*integer from 0 to 65535/],
    [['start', '--vehicles', '0'], /--vehicles.*must be from 1 to 100000, got 0/],
    [['start', '--prot', '3000'], /unknown option '--prot'[\s\S]*Did you mean --port\?/],
    [['orchestrator', '--telematics', 'ftp://x'], /--telematics.*must be an http\(s\) URL/],
    [['start', '--log-level', 'loud'], /must be one of fatal, error, warn, info, debug, trace, silent/],
    [['status', 'NOT-A-VIN'], /"NOT-A-VIN" is not a VIN: 17 characters/],
    [['mock', 'weather'], /must be telematics or scheduler, got "weather"/],
    [['start', '--personas', 'grumpy'], /must be a comma-separated list of prompt, busy/],
  ];
  for (const [args, message] of wrong) {
    it(`refuses \`${args.join(' ')}\` with a one-line reason and exit code 1`, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    });
  }

  it('names the environment variable at fault', async () => {
    const r = await runCli(['start', '--help'], { PITWALL_PORT: 'x' });
    expect(r.code).toBe(0);
    const bad = await runCli(['stats'], { PITWALL_URL: 'nope' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/environment PITWALL_URL.*must be an http\(s\) URL/);
  });

  it('says plainly when no Pitwall is running', async () => {
    const port = await freePort();
    const r = await runCli(['stats', '--pitwall-url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Pitwall at http:\/\/127\.0\.0\.1:\d+.*is it running\?/);
  });
});
