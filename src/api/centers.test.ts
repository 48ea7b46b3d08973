import { describe, expect, it } from 'vitest';
import { cachedCenters } from './centers.js';

describe('cachedCenters', () => {
  it('asks the scheduler once per ttl, shares a call in flight, and keeps the last list for a ttl when a call fails', async () => {
    let t = 0;
    let calls = 0;
    let down = false;
    const centers = cachedCenters(
      async () => {
        calls++;
        if (down) throw new Error('scheduler down');
        return [{ center_id: 'SC-BER-01' }, { center_id: `SC-${calls}` }];
      },
      1000,
      () => t,
    );
    const [a, b] = await Promise.all([centers(), centers()]);
    expect(a).toEqual(['SC-BER-01', 'SC-1']);
    expect(b).toBe(a);
    expect(calls).toBe(1);
    t = 999;
    expect(await centers()).toEqual(['SC-BER-01', 'SC-1']);
    t = 1000;
    expect(await centers()).toEqual(['SC-BER-01', 'SC-2']);
    down = true;
    t = 5000;
    expect(await centers()).toEqual(['SC-BER-01', 'SC-2']);
    expect(calls).toBe(3);
    t = 5999; // the outage is not asked about again on every answer
    expect(await centers()).toEqual(['SC-BER-01', 'SC-2']);
    expect(calls).toBe(3);
  });

  it('fails when no list was ever had, and tries again on the next call', async () => {
    let down = true;
    const centers = cachedCenters(async () => {
      if (down) throw new Error('scheduler down');
      return [{ center_id: 'SC-BER-01' }];
    });
    await expect(centers()).rejects.toThrow('scheduler down');
    down = false;
    expect(await centers()).toEqual(['SC-BER-01']);
  });
});
