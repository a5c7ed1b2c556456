import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunksFrom, type LogChunk, splitLines } from '../../../shared/builds/log.ts';
import type { BuildView } from '../../../shared/builds/model.ts';
import { END_ID, logEvents, RETRY_MS } from '../../../shared/http/build-log.ts';
import { eventStream } from '../../../shared/http/sse.ts';
import { parseEventStream } from '../../integration/event-source.ts';

/**
 * The log's event stream as an EventSource sees it: cut anywhere, resumed with Last-Event-ID, it
 * must give exactly the log (no gap, no duplicate) and the end once.
 */
const finished = { id: 'bld_x', state: 'succeeded', image: 'r/a:1', digest: 'sha256:0' } as BuildView;

/** Stored chunks of `text`, `size` bytes at most each, with the offsets where they end. */
function store(text: string, size: number): LogChunk[] {
  let offset = 0;
  return splitLines(text, size).map((piece) => {
    offset += Buffer.byteLength(piece);
    return { offset, text: piece };
  });
}

/** One answer of the route for a position: at most `perAnswer` chunks, then the end once there is no more. */
function answer(stored: LogChunk[], position: number, perAnswer: number): string {
  const chunks = chunksFrom(stored, position).slice(0, perAnswer);
  const end = chunks.at(-1)?.offset ?? position;
  const complete = end === (stored.at(-1)?.offset ?? 0);
  return eventStream(logEvents({ chunks, complete, build: finished }), RETRY_MS);
}

const logText = fc
  .array(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', 'data: x', 'id: 7', ': not a comment', 'é€😀 ä')), {
    maxLength: 60,
  })
  .map((lines) => lines.map((line) => `${line.replace(/[\r\n]/g, ' ')}\n`).join(''));

describe('the build log as Server-Sent Events', () => {
  it('1,000 clients cut at random points and resumed with Last-Event-ID get exactly the log, then the end once', () => {
    fc.assert(
      fc.property(
        logText,
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 5 }),
        // Where each connection is cut, in thousandths of its answer; after these, answers arrive whole.
        fc.array(fc.integer({ min: 0, max: 999 }), { maxLength: 30 }),
        (text, chunkSize, perAnswer, cuts) => {
          const stored = store(text, chunkSize);
          let lastEventId = '';
          let received = '';
          let ends = 0;
          for (let connection = 0; ; connection++) {
            expect(connection).toBeLessThan(1_000);
            if (lastEventId === END_ID) break; // the route answers 204: EventSource stops
            const position = lastEventId === '' ? 0 : Number(lastEventId);
            const body = Buffer.from(answer(stored, position, perAnswer));
            // Connections are cut short anywhere (even inside a character), then arrive whole.
            const cut = cuts[connection];
            const arrived = cut === undefined ? body : body.subarray(0, Math.floor((body.length * cut) / 1000));
            const parsed = parseEventStream(arrived.toString('utf8'), lastEventId);
            for (const event of parsed.events) {
              if (event.type === 'end') {
                ends++;
                expect(JSON.parse(event.data)).toMatchObject({ build_id: 'bld_x', state: 'succeeded' });
              } else {
                expect(ends).toBe(0);
                received += event.data;
                // Every id is the byte offset where that event's data ends.
                expect(Number(event.id)).toBe(Buffer.byteLength(received));
              }
            }
            lastEventId = parsed.lastEventId;
          }
          expect(received).toBe(text);
          expect(ends).toBe(1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('frames a chunk as one event, its id the offset, each line a data line, and retry first', () => {
    const stream = eventStream(
      logEvents({ chunks: [{ offset: 10, text: 'one\n\ntwo\n' }], complete: false, build: finished }),
      1000,
    );
    expect(stream).toBe('retry: 1000\n\nid: 10\ndata: one\ndata: \ndata: two\ndata: \n\n');
    expect(parseEventStream(stream, '').events).toEqual([{ type: 'message', data: 'one\n\ntwo\n', id: '10' }]);
  });

  it('ends a finished build with an end event carrying its state, and nothing but that when there is no more', () => {
    const stream = eventStream(logEvents({ chunks: [], complete: true, build: finished }), 1000);
    const [end] = parseEventStream(stream, '42').events;
    expect(end).toEqual({ type: 'end', id: END_ID, data: expect.any(String) });
    expect(JSON.parse(end?.data ?? '')).toEqual({
      build_id: 'bld_x',
      state: 'succeeded',
      image: 'r/a:1',
      digest: 'sha256:0',
    });
  });

  it('refuses to frame a carriage return, which a client would read as a line break', () => {
    expect(() => eventStream([{ data: 'a\rb' }], 1000)).toThrow(/carriage return/);
    expect(() => eventStream([{ id: '1\n2', data: 'x' }], 1000)).toThrow();
  });
});
