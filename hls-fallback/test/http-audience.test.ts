// HLS/DASH players count as viewers: distinct clients within the window, forgotten after it.
import { describe, expect, it } from 'vitest';
import { HttpAudience } from '@onair/hls-fallback';

describe('HttpAudience', () => {
  it('counts distinct clients per stream and forgets those that stopped polling', () => {
    let now = 0;
    const audience = new HttpAudience(10_000, () => now);
    audience.saw('s1', '10.0.0.1 hls.js');
    audience.saw('s1', '10.0.0.1 hls.js'); // the same player reloading
    audience.saw('s1', '10.0.0.2 Safari');
    audience.saw('s2', '10.0.0.1 hls.js');
    expect(audience.count('s1')).toBe(2);
    expect(audience.count('s2')).toBe(1);
    now = 8_000;
    audience.saw('s1', '10.0.0.2 Safari');
    now = 12_000;
    expect(audience.count('s1')).toBe(1);
    expect(audience.count('s2')).toBe(0);
    expect(audience.count('unknown')).toBe(0);
  });
});
