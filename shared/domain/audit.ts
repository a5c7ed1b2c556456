import * as z from 'zod/mini';

/** `POST /audit/checkpoints`: why a checkpoint is wanted now (kept in the request event and the checkpoint). */
export const checkpointRequest = z.strictObject({
  reason: z.optional(z.string().check(z.minLength(1), z.maxLength(500))),
});
