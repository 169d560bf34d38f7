// Awaits a call that must fail with an AppError and returns it, so a test can check its status and
// code; a success or any other error fails the test.
import { AppError } from '@onair/platform';

export async function appError(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError, but the call succeeded');
}
