import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunksFrom, splitLines } from '../../../shared/builds/log.ts';
import { type LogCursor, MASK, masker, newLines, normalizeTime, sinceTime } from '../../../shared/builds/log-lines.ts';

/** A pod log line as kubelet serves it with `timestamps=true`. */
const at = (second: number, nanos: number, text: string) =>
  `2026-12-01T10:00:${String(second).padStart(2, '0')}.${String(nanos).padStart(9, '0')}Z ${text}\n`;

describe('collecting a pod log from a sinceTime', () => {
  it('keeps every line of a first read, without its timestamp, and remembers where it stopped', () => {
    const read = newLines(at(1, 5, 'one') + at(1, 7, 'two') + at(2, 0, 'three'), undefined);
    expect(read.text).toBe('one\ntwo\nthree\n');
    expect(read.cursor).toEqual({ time: '2026-12-01T10:00:02.000000000Z', seen: 1 });
    expect(read.more).toBe(false);
  });

  it('asks again from the whole second of the last line, and skips what that second already gave', () => {
    const first = newLines(at(1, 5, 'one') + at(1, 7, 'two'), undefined);
    expect(sinceTime(first.cursor)).toBe('2026-12-01T10:00:01Z');
    // The API server counts sinceTime in whole seconds: the same lines come again, then new ones.
    const again = newLines(at(1, 5, 'one') + at(1, 7, 'two') + at(1, 9, 'three') + at(3, 0, 'four'), first.cursor);
    expect(again.text).toBe('three\nfour\n');
    expect(newLines(at(1, 5, 'one') + at(1, 7, 'two'), first.cursor).text).toBe('');
  });

  it('tells lines stamped with the very same instant apart by how many of them it has seen', () => {
    const first = newLines(at(4, 1, 'a') + at(4, 1, 'b'), undefined);
    expect(first.cursor).toEqual({ time: '2026-12-01T10:00:04.000000001Z', seen: 2 });
    const again = newLines(at(4, 1, 'a') + at(4, 1, 'b') + at(4, 1, 'c'), first.cursor);
    expect(again.text).toBe('c\n');
    expect(again.cursor).toEqual({ time: '2026-12-01T10:00:04.000000001Z', seen: 3 });
  });

  it('leaves a line cut by limitBytes for the next read, and says there is more', () => {
    const body = at(1, 0, 'whole') + at(1, 1, 'cut in the mi').slice(0, -1);
    const read = newLines(body, undefined, Buffer.byteLength(body));
    expect(read.text).toBe('whole\n');
    expect(read.more).toBe(true);
    expect(newLines(at(1, 0, 'whole') + at(1, 1, 'cut in the middle'), read.cursor).text).toBe('cut in the middle\n');
  });

  it('keeps a line longer than the whole limit (cut) rather than never moving on', () => {
    const body = at(1, 0, 'x'.repeat(100)).slice(0, 60);
    const read = newLines(body, undefined, 60);
    expect(read.text).toBe(`${'x'.repeat(29)}\n`);
    expect(read.cursor?.seen).toBe(1);
  });

  it('turns \\r\\n and a lone \\r into \\n, so an event stream splits lines where the build did', () => {
    expect(newLines(at(1, 0, 'progress 10%\rprogress 50%\r\ndone'), undefined).text).toBe(
      'progress 10%\nprogress 50%\n\ndone\n',
    );
  });

  it('reads RFC 3339 times of any precision and offset as the same fixed-width UTC text', () => {
    expect(normalizeTime('2026-12-01T10:00:01.5Z')).toBe('2026-12-01T10:00:01.500000000Z');
    expect(normalizeTime('2026-12-01T12:00:01.123456789+02:00')).toBe('2026-12-01T10:00:01.123456789Z');
    expect(normalizeTime('2026-12-01T10:00:01Z')).toBe('2026-12-01T10:00:01.000000000Z');
    expect(normalizeTime('yesterday')).toBeUndefined();
  });

  it('never stores a line twice nor loses one, however the reads overlap (property)', () => {
    const line = fc.record({ second: fc.integer({ min: 0, max: 5 }), text: fc.string({ maxLength: 12 }) });
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }),
        (raw, cuts) => {
          // The container's log: times never go back; several lines may share an instant.
          const lines = raw
            .map((l) => ({ ...l, text: l.text.replace(/[\r\n]/g, ' ') }))
            .sort((a, b) => a.second - b.second)
            .map((l, i) => ({ ...l, nanos: Math.floor(i / 2) }));
          const stamped = lines.map((l) => at(l.second, l.nanos, l.text));
          let cursor: LogCursor | undefined;
          let stored = '';
          // Each read sees a longer prefix of the log, from the cursor's whole second on.
          for (const end of [...cuts.sort((a, b) => a - b), lines.length]) {
            const from = cursor ? lines.findIndex((l) => l.second >= Number(cursor?.time.slice(17, 19))) : 0;
            const body = stamped.slice(Math.max(0, from), end).join('');
            const read = newLines(body, cursor);
            stored += read.text;
            cursor = read.cursor ?? cursor;
          }
          expect(stored).toBe(lines.map((l) => `${l.text}\n`).join(''));
        },
      ),
    );
  });
});

describe('masking', () => {
  it('replaces every secret, and each line of a multi-line one, with ***', () => {
    const mask = masker(['hunter2-long', 'line one secret\nline two secret']);
    expect(mask('login -p hunter2-long; again hunter2-long')).toBe(`login -p ${MASK}; again ${MASK}`);
    expect(mask('got line two secret here')).toBe(`got ${MASK} here`);
  });

  it('masks a secret containing another as a whole', () => {
    const mask = masker(['abcd', 'xxabcdxx']);
    expect(mask('[xxabcdxx] [abcd]')).toBe(`[${MASK}] [${MASK}]`);
  });

  it('leaves text alone without secrets, and ignores empty or tiny ones', () => {
    expect(masker([])('anything')).toBe('anything');
    expect(masker(['', 'a'])('a cat')).toBe('a cat');
  });
});

describe('chunks', () => {
  it('splits text between lines into pieces of at most the given bytes, cutting only a longer line', () => {
    expect(splitLines('aa\nbb\ncc\n', 6)).toEqual(['aa\nbb\n', 'cc\n']);
    expect(splitLines('é'.repeat(5), 4)).toEqual(['éé', 'éé', 'é']);
    expect(splitLines('', 10)).toEqual([]);
  });

  it('answers the chunks after a position, cutting the first to start exactly there', () => {
    const chunks = [
      { offset: 4, text: 'abc\n' },
      { offset: 9, text: 'déf\n' },
      { offset: 13, text: 'ghi\n' },
    ];
    expect(chunksFrom(chunks, 0)).toEqual(chunks);
    expect(chunksFrom(chunks, 4)).toEqual(chunks.slice(1));
    expect(chunksFrom(chunks, 7)).toEqual([{ offset: 9, text: 'f\n' }, chunks[2]]);
    expect(chunksFrom(chunks, 13)).toEqual([]);
  });
});
