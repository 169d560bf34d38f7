// scrypt at its lowest accepted cost (N=2^14: ~40 ms a hash instead of ~0.3-0.5 s at the default
// 2^17) for tests whose subject is not password hashing but that register many users.
// signaling/test/sign-in-throttle.test.ts checks the production cost.
import type { ScryptParams } from '@onair/platform';

export const TEST_SCRYPT: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
