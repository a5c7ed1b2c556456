/**
 * `GET …/logs` of a build, as text or as Server-Sent Events (the builds API, and a pipeline's latest
 * run). Whoever calls it has checked that the caller may read the build.
 *
 * - `text/plain` (default): the log after byte `?since=` (0), at most 4 MiB per answer;
 *   `Log-Offset` is where the answer ends (the next `since`), `Log-Complete: true` once the build
 *   has ended and there is no more.
 * - `Accept: text/event-stream`: one event per stored chunk, its `id:` the byte offset where it ends,
 *   from `Last-Event-ID` (or `?since=`). API Gateway buffers answers and cuts them at 30 s, so an
 *   answer says what is there within 10 s and ends with `retry:`; EventSource reconnects and
 *   resumes exactly. The stream ends with an `end` event (id `end`) carrying the build's final
 *   state; a reconnect after it gets 204, which tells EventSource to stop.
 */
import { type LogRead, readLog } from '../builds/builds.ts';
import { invalid } from '../errors.ts';
import type { HttpRequest } from './kernel.ts';
import type { ApiResult } from './response.ts';
import { eventStream, type ServerSentEvent } from './sse.ts';

/** How long an event-stream answer waits for something new before it lets the client come back. */
export const STREAM_WAIT_MS = 10_000;
/** How soon EventSource comes back: the wait was ours, so at once, nearly. */
export const RETRY_MS = 1_000;
/** The id of the last event of a finished build's stream. */
export const END_ID = 'end';

export async function logAnswer(req: HttpRequest, buildId: string): Promise<ApiResult> {
  const streaming = (req.header('accept') ?? '').toLowerCase().includes('text/event-stream');
  if (!streaming) {
    const read = await readLog(buildId, offset(req.query.since, 'since'));
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'log-offset': String(read.end),
        'log-complete': String(read.complete),
        vary: 'Accept',
      },
      body: read.chunks.map((chunk) => chunk.text).join(''),
    };
  }
  const lastEventId = req.header('last-event-id');
  if (lastEventId === END_ID) return { statusCode: 204, headers: { vary: 'Accept, Last-Event-ID' }, body: '' };
  const position = lastEventId === undefined ? offset(req.query.since, 'since') : offset(lastEventId, 'Last-Event-ID');
  const read = await readLog(buildId, position, { waitMs: STREAM_WAIT_MS });
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      vary: 'Accept, Last-Event-ID',
    },
    body: eventStream(logEvents(read), RETRY_MS),
  };
}

/** Each chunk an event whose id is where it ends; then, once there is no more, the build's end. */
export function logEvents(read: Pick<LogRead, 'chunks' | 'complete' | 'build'>): ServerSentEvent[] {
  const events: ServerSentEvent[] = read.chunks.map((chunk) => ({ id: String(chunk.offset), data: chunk.text }));
  if (!read.complete) return events;
  const { id, state, image, digest, reason, finished_at } = read.build;
  const end = { build_id: id, state, image, ...(digest ? { digest } : {}), ...(reason ? { reason } : {}), finished_at };
  return [...events, { id: END_ID, event: 'end', data: JSON.stringify(end) }];
}

/** A byte offset into the log: digits only (a position we gave), or 0 when absent. */
function offset(value: string | undefined, name: string): number {
  if (value === undefined && name === 'since') return 0;
  if (value === undefined || !/^\d{1,15}$/.test(value)) {
    throw invalid(`${name} must be a byte offset into the log (an event id this stream sent).`, [
      { name, reason: 'not a log position' },
    ]);
  }
  return Number(value);
}
