/**
 * Verifying a delivery before anything of it is parsed or stored. GitHub signs the raw body
 * (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`); GitLab sends the secret itself
 * (`X-Gitlab-Token`). Both are compared in constant time, against every secret the endpoint
 * accepts now (the current one and, during a rotation's overlap, the previous one).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type Provider = 'github' | 'gitlab';
export const PROVIDERS: readonly Provider[] = ['github', 'gitlab'];

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

/** HMAC-SHA256 of the raw body, hex, as GitHub computes it. */
export const githubSignature = (secret: string, body: Buffer | string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * True when `proof` (the signature or token header) proves the body was sent by a holder of one of
 * `secrets`. Every secret is tried (no early exit), so the time does not depend on which matched.
 */
export function verifyDelivery(
  provider: Provider,
  proof: string | undefined,
  body: Buffer | string,
  secrets: readonly string[],
): boolean {
  let accepted = false;
  for (const secret of secrets) {
    const ok = provider === 'github' ? githubProof(proof, body, secret) : gitlabProof(proof, secret);
    accepted = ok || accepted;
  }
  return accepted;
}

function githubProof(proof: string | undefined, body: Buffer | string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(body).digest();
  const hex = SIGNATURE.exec(proof ?? '')?.[1];
  // A malformed header is still compared (against zeros), so it costs what a wrong one costs.
  const given = hex ? Buffer.from(hex, 'hex') : Buffer.alloc(32);
  return timingSafeEqual(expected, given) && hex !== undefined;
}

/** Hashing both sides gives equal lengths, so the comparison says nothing about the token's length. */
function gitlabProof(proof: string | undefined, secret: string): boolean {
  const digest = (text: string) => createHmac('sha256', DIGEST_KEY).update(text).digest();
  return timingSafeEqual(digest(secret), digest(proof ?? '')) && proof !== undefined;
}
const DIGEST_KEY = randomBytes(32);

/**
 * What an unknown endpoint is checked against: a secret nobody holds, so an unknown hook id costs
 * the same work as a known one with a wrong signature, and gets the same answer.
 */
export const UNKNOWN_ENDPOINT_SECRETS: readonly string[] = [randomBytes(32).toString('base64url')];

/** A new endpoint secret: 256 random bits, URL-safe, shown once. */
export const newHookSecret = (): string => randomBytes(32).toString('base64url');
