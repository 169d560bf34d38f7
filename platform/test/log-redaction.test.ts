// No secret reaches a log line: credentials in URLs, secret query parameters, fields named like
// secrets and the message and stack of an error that quotes its connection URL.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from '@onair/platform';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('info', 'test', stream), text: () => lines.join('') };
}

describe('log redaction', () => {
  it('masks URL credentials and secret parameters in strings', () => {
    expect(redactSecrets('redis://default:hunter2@10.0.0.5:6379/0')).toBe('redis://default:[redacted]@10.0.0.5:6379/0');
    expect(redactSecrets('nats://svc:s3cret@nats:4222 and postgres://u:p%40ss@db/x')).toBe(
      'nats://svc:[redacted]@nats:4222 and postgres://u:[redacted]@db/x',
    );
    expect(redactSecrets('/ws/abc?token=eyJhbGc.x.y&x=1')).toBe('/ws/abc?token=[redacted]&x=1');
    expect(redactSecrets('https://example.com/path?q=1')).toBe('https://example.com/path?q=1');
  });

  it('keeps secrets out of fields, messages and errors', () => {
    const { log, text } = capture();
    log.info(
      { url: '/ws/s1?token=abc.def.ghi', redisUrl: 'rediss://ops:topsecret@redis:6380' },
      'connecting to redis://ops:topsecret@redis',
    );
    log.info({ password: 'pw1', user: { token: 'tok2', name: 'ann' }, streamKey: 'sk_live_3' }, 'fields');
    log.error({ err: new Error('connect ECONNREFUSED redis://ops:topsecret@redis:6380') }, 'redis down');
    const out = text();
    for (const secret of ['abc.def.ghi', 'topsecret', 'pw1', 'tok2', 'sk_live_3']) expect(out).not.toContain(secret);
    expect(out).toContain('"name":"ann"');
    expect(out).toContain('ECONNREFUSED redis://ops:[redacted]@redis:6380');
    expect(out.match(/\[redacted\]/g)!.length).toBeGreaterThanOrEqual(6);
  });
});
