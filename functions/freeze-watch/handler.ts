import { type WatchOutcome, watchFreezes } from '../../shared/calendar/freeze-watch.ts';
import { isError } from '../../shared/errors.ts';
import { lambda } from '../../shared/lambda.ts';

/**
 * Target of the `freeze-watch` schedule (every minute): tells the freezes that started or ended
 * since the last tick. A tick that lost the race to an overlapping one has nothing left to tell.
 */
export const handler = lambda(async (): Promise<WatchOutcome> => {
  try {
    return await watchFreezes();
  } catch (error) {
    if (isError(error, 'freeze-watch-raced')) return { started: [], ended: [] };
    throw error;
  }
});
