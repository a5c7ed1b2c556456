import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptedSecrets } from '../../../shared/hooks/secrets.ts';
import { githubSignature, verifyDelivery } from '../../../shared/hooks/signature.ts';

describe('GitHub signatures (X-Hub-Signature-256)', () => {
  it("passes GitHub's documented example", () => {
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(githubSignature("It's a Secret to Everybody", 'Hello, World!')).toBe(signature);
    expect(verifyDelivery('github', signature, 'Hello, World!', ["It's a Secret to Everybody"])).toBe(true);
  });

  it('refuses a missing, malformed, uppercase or sha1 signature', () => {
    const secret = "It's a Secret to Everybody";
    const good = githubSignature(secret, 'Hello, World!');
    for (const proof of [undefined, '', 'sha256=', good.toUpperCase(), good.replace('sha256', 'sha1'), `${good}00`]) {
      expect(verifyDelivery('github', proof, 'Hello, World!', [secret]), String(proof)).toBe(false);
    }
  });

  it('accepts any of the secrets it is given (a rotation’s overlap), and none other', () => {
    const body = '{"zen":"Keep it logically awesome."}';
    expect(verifyDelivery('github', githubSignature('old', body), body, ['new', 'old'])).toBe(true);
    expect(verifyDelivery('github', githubSignature('older', body), body, ['new', 'old'])).toBe(false);
  });
});

describe('GitLab tokens (X-Gitlab-Token)', () => {
  it('accepts the exact token only', () => {
    expect(verifyDelivery('gitlab', 's3cret-token', '{}', ['s3cret-token'])).toBe(true);
    for (const proof of [undefined, '', 's3cret-toke', 's3cret-token ', 'S3cret-token']) {
      expect(verifyDelivery('gitlab', proof, '{}', ['s3cret-token']), String(proof)).toBe(false);
    }
  });
});

describe('the secrets a delivery may be signed with', () => {
  it('are the current one, and the previous one until its overlap ends', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    const rotated = { current: 'new', previous: 'old', previous_until: '2026-12-05T12:00:00Z' };
    expect(acceptedSecrets(rotated, now)).toEqual(['new', 'old']);
    expect(acceptedSecrets(rotated, Date.parse('2026-12-05T12:00:01Z'))).toEqual(['new']);
    expect(acceptedSecrets({ current: 'only' }, now)).toEqual(['only']);
  });
});

/**
 * 10,000 forged or mutated deliveries against one endpoint's secret: none is accepted. Each starts
 * from a genuinely signed delivery and breaks one thing an attacker could: a bit of the body, the
 * signing secret, the signature's length, or the body under a replayed signature.
 */
describe('forged deliveries', () => {
  const secret = 'endpoint-secret-0123456789abcdef0123456789abcdef';
  const body = fc.string({ minLength: 1, maxLength: 400 });
  const forgery = fc.oneof(
    body.chain((text) =>
      fc.record({
        kind: fc.constant('bit flip'),
        body: fc.nat({ max: Buffer.byteLength(text) * 8 - 1 }).map((bit) => {
          const bytes = Buffer.from(text);
          bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
          return bytes;
        }),
        proof: fc.constant(githubSignature(secret, text)),
      }),
    ),
    fc
      .record({
        kind: fc.constant('another secret'),
        body,
        other: fc.string({ minLength: 1, maxLength: 64 }).filter((s) => s !== secret),
      })
      .map(({ kind, body: text, other }) => ({ kind, body: Buffer.from(text), proof: githubSignature(other, text) })),
    fc
      .record({ kind: fc.constant('truncated'), body, cut: fc.integer({ min: 0, max: 70 }) })
      .map(({ kind, body: text, cut }) => ({
        kind,
        body: Buffer.from(text),
        proof: githubSignature(secret, text).slice(0, cut),
      })),
    fc
      .record({ kind: fc.constant('replayed signature'), signed: body, other: body })
      .filter(({ signed, other }) => signed !== other)
      .map(({ kind, signed, other }) => ({ kind, body: Buffer.from(other), proof: githubSignature(secret, signed) })),
  );

  it('accepts none of 10,000', () => {
    const accepted: string[] = [];
    fc.assert(
      fc.property(forgery, ({ kind, body: bytes, proof }) => {
        // A bit flip that leaves the body unchanged is not a forgery (never happens: XOR changes a bit).
        if (verifyDelivery('github', proof, bytes, [secret])) accepted.push(kind);
      }),
      { numRuns: 10_000 },
    );
    expect(accepted).toEqual([]);
  });

  it('and the genuine delivery each starts from is accepted (the property is not vacuous)', () => {
    fc.assert(
      fc.property(body, (text) => verifyDelivery('github', githubSignature(secret, text), Buffer.from(text), [secret])),
      { numRuns: 500 },
    );
  });
});
