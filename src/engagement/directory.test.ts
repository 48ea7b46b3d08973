import { describe, expect, it } from 'vitest';
import { createTelematicsDirectory, parseCustomer } from './directory.js';
import type { FetchFn } from './gateway.js';

const owner = (n: number) => ({ name: `Owner ${n}`, email: `o${n}@example.com`, phone: `+3360000000${n}`, preferred_channel: 'push', persona: 'prompt' });

describe('telematics customer directory', () => {
  it('pages through /api/vehicles once and answers later lookups from memory', async () => {
    const urls: string[] = [];
    const fetchFn: FetchFn = async (url) => {
      urls.push(url);
      const page = url.includes('cursor=2')
        ? { vehicles: [{ vin: 'VIN3', owner: owner(3) }], next_cursor: null }
        : { vehicles: [{ vin: 'VIN1', owner: owner(1) }, { vin: 'VIN2', owner: owner(2) }], next_cursor: '2' };
      return new Response(JSON.stringify(page), { status: 200 });
    };
    const dir = createTelematicsDirectory('http://127.0.0.1:7000/', { fetch: fetchFn, pageSize: 2 });
    const [a, b] = await Promise.all([dir.lookup('VIN3'), dir.lookup('VIN1')]);
    expect(a).toEqual({ name: 'Owner 3', email: 'o3@example.com', phone: '+33600000003', preferred_channel: 'push' });
    expect(b?.name).toBe('Owner 1');
    expect(urls).toEqual(['http://127.0.0.1:7000/api/vehicles?limit=2', 'http://127.0.0.1:7000/api/vehicles?limit=2&cursor=2']);
    await dir.lookup('VIN2');
    expect(urls).toHaveLength(2);
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
