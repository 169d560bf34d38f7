// Defaults that matter once a node faces the internet: free test funds only on a loopback node
// (never by default on a public address, whatever NODE_ENV says), and forwarding headers trusted
// from no one unless TRUST_PROXY names the proxies.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@onair/platform';

const config = (env: Record<string, string>) => loadConfig({ DATA_DIR: ':memory:', ...env });

describe('public-address defaults', () => {
  it('offers test funds on loopback outside production only, unless TEST_FUNDS says otherwise', () => {
    expect(config({ HOST: '127.0.0.1' }).payments.testFunds).toBe(true);
    expect(config({ HOST: '0.0.0.0' }).payments.testFunds).toBe(false);
    expect(config({ HOST: '203.0.113.7', NODE_ENV: 'development' }).payments.testFunds).toBe(false);
    expect(config({ HOST: '127.0.0.1', NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).payments.testFunds).toBe(false);
    expect(config({ HOST: '0.0.0.0', TEST_FUNDS: 'on' }).payments.testFunds).toBe(true);
    expect(config({ HOST: '127.0.0.1', TEST_FUNDS: 'off' }).payments.testFunds).toBe(false);
    expect(() => config({ TEST_FUNDS: 'maybe' })).toThrow(/TEST_FUNDS/);
  });

  it('trusts forwarding headers from no one by default, and from the named proxies only', () => {
    expect(config({}).trustProxy).toEqual([]);
    expect(config({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.1' }).trustProxy).toEqual(['10.0.0.0/8', '192.0.2.1']);
  });
});
