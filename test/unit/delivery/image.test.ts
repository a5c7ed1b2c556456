import { describe, expect, it } from 'vitest';
import { resolveImage } from '../../../shared/delivery/deployments.ts';
import { imageReference } from '../../../shared/domain/deployment.ts';
import { problemOf } from '../problem-of.ts';

/** A deploy names a tag, a digest or a full reference, and never an image from another repository. */
const repo = 'registry.example.com:5000/shop/api';
const digest = `sha256:${'a'.repeat(64)}`;

describe('resolveImage', () => {
  it.each([
    ['1.4.2', `${repo}:1.4.2`],
    ['v2-rc.1', `${repo}:v2-rc.1`],
    [digest, `${repo}@${digest}`],
    [`${repo}:1.4.2`, `${repo}:1.4.2`],
    [`${repo}@${digest}`, `${repo}@${digest}`],
  ])('%s → %s', (image, expected) => {
    expect(resolveImage(repo, image)).toBe(expected);
  });

  it.each([
    'docker.io/evil/miner:1',
    'registry.example.com:5000/shop/other:1',
    'registry.example.com/shop/api:1', // same path, another registry (no port)
  ])('refuses %s from another repository with 422', (image) => {
    expect(problemOf(() => resolveImage(repo, image))?.status).toBe(422);
  });

  it('refuses a repository without a tag or digest with 400', () => {
    expect(problemOf(() => resolveImage(repo, 'registry.example.com:5000/shop/api'))?.status).toBe(400);
  });
});

describe('imageReference', () => {
  it.each(['1.4.2', digest, `${repo}:latest`, `${repo}@${digest}`])('accepts %s', (image) => {
    expect(imageReference.safeParse(image).success).toBe(true);
  });

  it.each(['', 'UPPER/case:1', ':1', 'a'.repeat(401), 'repo:tag with space', `sha256:${'z'.repeat(64)}`])(
    'refuses %j',
    (image) => {
      expect(imageReference.safeParse(image).success).toBe(false);
    },
  );
});
