import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SERVICE_URLS, ServiceUnavailableError, requireService, serviceUrl } from './services.js';

describe('test services', () => {
  let server: Server | null = null;
  afterEach(async () => {
    vi.restoreAllMocks();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });

  async function listening(): Promise<number> {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no port');
    return addr.port;
  }

  async function freePort(): Promise<number> {
    const port = await listening();
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    return port;
  }

  it('takes the URL from the environment, or the address scripts/services.sh starts', () => {
    expect(serviceUrl('nats', {})).toBe(DEFAULT_SERVICE_URLS.nats);
    expect(serviceUrl('nats', { PITWALL_TEST_NATS_URL: 'nats://127.0.0.1:4333' })).toBe('nats://127.0.0.1:4333');
    expect(serviceUrl('pg', { PITWALL_TEST_PG_URL: ' ' })).toBe(DEFAULT_SERVICE_URLS.pg);
  });

  it('says a listening service is there', async () => {
    const port = await listening();
    await expect(requireService('nats', `nats://127.0.0.1:${port}`, {})).resolves.toBe(true);
  });

  it('skips with a message saying how to start a missing service, outside CI', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const port = await freePort();
    await expect(requireService('pg', `postgres://u:p@127.0.0.1:${port}/db`, {})).resolves.toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('scripts/services.sh'));
  });

  it('fails under CI=true instead of skipping', async () => {
    const port = await freePort();
    await expect(requireService('nats', `nats://127.0.0.1:${port}`, { CI: 'true' })).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});
