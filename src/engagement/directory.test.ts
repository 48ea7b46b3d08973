import { describe, expect, it } from 'vitest';
import { createTelematicsDirectory, parseCustomer } from './directory.js';
import type { FetchFn } from './gateway.js';

const owner = (n: number) => ({ name: `Owner ${n}`, email: `o${n}@example.com`, phone: `+3360000000${n}`, preferred_channel: 'push', persona: 'prompt' });

describe('telematics customer directory', () => {
  it('reads one vehicle at a time, answers repeats from a bounded cache, and knows no owner for an unknown VIN', async () => {
    const urls: string[] = [];
    const fetchFn: FetchFn = async (url) => {
      urls.push(url);
      const vin = url.split('/').pop()!;
      if (vin === 'VIN9') return new Response(JSON.stringify({ error: 'not_found' }), { status: 404 });
      return new Response(JSON.stringify({ vin, owner: owner(Number(vin.slice(3))) }), { status: 200 });
    };
    const dir = createTelematicsDirectory('http://127.0.0.1:7000/', { fetch: fetchFn, cacheSize: 2 });
    expect(await dir.lookup('VIN3')).toEqual({ name: 'Owner 3', email: 'o3@example.com', phone: '+33600000003', preferred_channel: 'push' });
    expect((await dir.lookup('VIN1'))?.name).toBe('Owner 1');
    await dir.lookup('VIN3');
    expect(urls).toEqual(['http://127.0.0.1:7000/api/vehicles/VIN3', 'http://127.0.0.1:7000/api/vehicles/VIN1']);
    await dir.lookup('VIN2'); // evicts VIN1, the least recently used
    await dir.lookup('VIN3');
    expect(urls).toHaveLength(3);
    await dir.lookup('VIN1');
    expect(urls).toHaveLength(4);
    expect(await dir.lookup('VIN9')).toBeNull();
  });

  it('throws when the API is down, so the caller can retry', async () => {
    const dir = createTelematicsDirectory('http://x', { fetch: async () => new Response('', { status: 503 }) });
    await expect(dir.lookup('VIN1')).rejects.toThrow(/503/);
  });

  it('rejects owners without contact details', () => {
    expect(parseCustomer({ name: 'x' })).toBeNull();
    expect(parseCustomer({ name: 'x', email: 'e@x', phone: '1', preferred_channel: 'fax' })?.preferred_channel).toBe('email');
  });
});
