import { invalid } from '../errors.ts';

/** What a client may send as Idempotency-Key (kept free of store imports: the OpenAPI document reads it). */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]{1,255}$';

/** How long a stored response answers repeats of its key. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;

const pattern = new RegExp(IDEMPOTENCY_KEY_PATTERN);

export function validateIdempotencyKey(value: string): string {
  if (!pattern.test(value)) {
    throw invalid('Idempotency-Key must be 1 to 255 visible ASCII characters.', [
      { name: 'Idempotency-Key', reason: 'invalid' },
    ]);
  }
  return value;
}
