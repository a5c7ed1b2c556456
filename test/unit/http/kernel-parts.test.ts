import { describe, expect, it } from 'vitest';
import { mergePatch } from '../../../shared/domain/merge-patch.ts';
import { etagOf, expectedVersion } from '../../../shared/http/etag.ts';
import { MAX_LIMIT, parsePageRequest } from '../../../shared/http/pagination.ts';
import { problemOf } from '../problem-of.ts';

describe('merge patch (RFC 7396)', () => {
  it('merges objects, replaces arrays and scalars, removes on null', () => {
    const target = { a: 1, nested: { x: 1, y: 2 }, list: [1, 2], gone: true };
    expect(mergePatch(target, { nested: { y: null, z: 3 }, list: [3], gone: null, a: 'b' })).toEqual({
      a: 'b',
      nested: { x: 1, z: 3 },
      list: [3],
    });
  });

  it('replaces atomic fields whole', () => {
    expect(mergePatch({ auth: { mode: 'a', k: 1 } }, { auth: { mode: 'b' } }, ['auth'])).toEqual({
      auth: { mode: 'b' },
    });
  });

  it('refuses a body that is not an object', () => {
    for (const body of [[], 'x', 1, null]) expect(problemOf(() => mergePatch({}, body))?.status).toBe(400);
  });
});

describe('ETag and If-Match', () => {
  it('round-trips the version, weak or strong', () => {
    expect(expectedVersion(etagOf(7))).toBe(7);
    expect(expectedVersion(`W/${etagOf(7)}`)).toBe(7);
  });
  it('requires If-Match (428) and makes a malformed one unmatchable', () => {
    expect(problemOf(() => expectedVersion(undefined))?.status).toBe(428);
    expect(expectedVersion('*')).toBe(-1);
    expect(expectedVersion('"v1x"')).toBe(-1);
  });
});

describe('pagination', () => {
  it('bounds the limit', () => {
    expect(parsePageRequest({}).limit).toBe(20);
    expect(parsePageRequest({ limit: String(MAX_LIMIT) }).limit).toBe(MAX_LIMIT);
    for (const limit of ['0', String(MAX_LIMIT + 1), '-1', '1.5', 'abc', '']) {
      expect(problemOf(() => parsePageRequest({ limit }))?.status, limit).toBe(400);
    }
  });
});
