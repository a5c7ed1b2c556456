import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePageRequest } from '../../../shared/http/pagination.ts';
import { toProblem } from '../../../shared/http/problem.ts';
import { listCursors, MAX_CURSOR_LENGTH } from '../../../shared/store/paging.ts';

const projects = ['GSI1', 'KIND#project', ''];
const fields = ['GSI1SK', 'PK', 'SK'];
const position = { GSI1SK: 'shop#prj_1', PK: 'PROJECT#prj_1', SK: 'PROJECT' };
const keyOfThisRun = randomBytes(32).toString('base64url');

/** The cursor a client sends back: through the query string check, then opened by `list`. */
const reopen = (cursor: string, list = projects, expected = fields) =>
  listCursors(list, expected).open(parsePageRequest({ cursor }).cursor);

const isBadCursor = (error: unknown) =>
  toProblem(error)?.status === 400 && toProblem(error)?.type.endsWith('/invalid-cursor') === true;

describe('list cursors', () => {
  const saved = process.env.SLIPWAY_CURSOR_KEY;
  beforeEach(() => {
    process.env.SLIPWAY_CURSOR_KEY = keyOfThisRun;
  });
  afterEach(() => {
    process.env.SLIPWAY_CURSOR_KEY = saved;
  });

  it('round-trip a position on the list that sealed it', () => {
    const cursor = listCursors(projects, fields).seal(position) as string;
    expect(cursor.length).toBeLessThan(MAX_CURSOR_LENGTH);
    expect(reopen(cursor)).toEqual(position);
    expect(listCursors(projects, fields).seal(undefined)).toBeNull();
    expect(listCursors(projects, fields).open(undefined)).toBeUndefined();
  });

  it('refuse a cursor of another list: other partition, other index, other prefix', () => {
    const cursor = listCursors(projects, fields).seal(position) as string;
    for (const list of [
      ['GSI1', 'KIND#cluster', ''],
      ['GSI2', 'KIND#project', ''],
      ['table', 'KIND#project', ''],
      ['GSI1', 'KIND#project', 'shop'],
      ['readable-projects'],
    ]) {
      expect(() => reopen(cursor, list), list.join(' ')).toThrow(expect.toSatisfy(isBadCursor));
    }
  });

  it('refuse an unsigned cursor, one signed with another key, and one altered after signing', () => {
    const payload = Buffer.from(JSON.stringify(position)).toString('base64url');
    const otherKey = randomBytes(32).toString('base64url');
    const signedElsewhere = createHmac('sha256', otherKey)
      .update(JSON.stringify(['slipway-cursor-1', ...projects, payload]))
      .digest('base64url');
    const genuine = listCursors(projects, fields).seal(position) as string;
    const [, signature] = genuine.split('.');
    const altered = `${Buffer.from(JSON.stringify({ ...position, PK: 'PROJECT#prj_2' })).toString('base64url')}.${signature}`;
    for (const cursor of [payload, `${payload}.`, `${payload}.${signedElsewhere}`, altered]) {
      expect(() => reopen(cursor), cursor).toThrow(expect.toSatisfy(isBadCursor));
    }
  });

  it('refuse a genuine cursor whose position has another shape than the list expects', () => {
    const cursor = listCursors(projects, ['SK']).seal({ SK: 'PROJECT' }) as string;
    expect(() => reopen(cursor, projects, fields)).toThrow(expect.toSatisfy(isBadCursor));
  });

  it('never sign without a key of at least 32 characters (a 500 with a reason, not a default key)', () => {
    for (const key of [undefined, '', 'short']) {
      if (key === undefined) delete process.env.SLIPWAY_CURSOR_KEY;
      else process.env.SLIPWAY_CURSOR_KEY = key;
      expect(() => listCursors(projects, fields), String(key)).toThrow(/SLIPWAY_CURSOR_KEY/);
    }
  });

  it('turn any text sent as a cursor into a position of this list or a 400, never a crash', () => {
    const genuine = listCursors(projects, fields).seal(position) as string;
    const mutated = fc
      .tuple(fc.nat(genuine.length - 1), fc.string({ minLength: 1, maxLength: 1 }))
      .map(([at, char]) => genuine.slice(0, at) + char + genuine.slice(at + 1));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 1100 }), mutated), (cursor) => {
        try {
          expect(reopen(cursor)).toEqual(position);
        } catch (error) {
          expect(error).toSatisfy(isBadCursor);
        }
      }),
    );
  });
});
