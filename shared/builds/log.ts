/**
 * A build's log in the table (ADR 18): ordered chunks under `BUILDLOG#<build id>`, each keyed by the
 * byte offset where it ends and expiring 30 days after it was written, so logs outlive the pods
 * that wrote them. A chunk is written in the same transaction as the build's log size, on the
 * condition that the size is still what the writer read: a retried step never writes a line twice.
 */
import { conflict } from '../errors.ts';
import { type Item, query, type Write } from '../store/table.ts';
import { buildKeys, logPartition } from './keys.ts';
import type { LogCursor } from './log-lines.ts';
import { advanceBuild, type Build, type BuildMove } from './progress.ts';

/** A piece of the log: its text and the byte offset of its end in the whole log (its SSE `id`). */
export interface LogChunk {
  offset: number;
  text: string;
}

/** Chunks stay well under DynamoDB's 400 KB item limit, and an SSE event stays a screenful or so. */
export const CHUNK_BYTES = 64 * 1024;
/** What one build may store; past it the log says it was cut, and collecting stops. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;
const LOG_TTL_SECONDS = 30 * 24 * 60 * 60;

/** What the workflow keeps with the build about its log. */
export interface StoredLog {
  bytes: number;
  chunks: number;
}

/**
 * Appends `text` (whole lines) to the build's log as one or more chunks, with `move` (a state
 * change, an event) in the same transaction. Undefined when the build moved meanwhile (it ended,
 * or another writer appended first): nothing was written.
 */
export async function appendLog(
  build: Build,
  text: string,
  cursor: LogCursor | undefined,
  move: Omit<BuildMove, 'condition'> = { set: {} },
): Promise<Build | undefined> {
  const log = build.log;
  const room = MAX_LOG_BYTES - log.bytes;
  const fits = Buffer.byteLength(text) <= room ? text : `${cut(text, room - 200)}${LOG_FULL}`;
  const pieces = room <= 0 ? [] : splitLines(fits, CHUNK_BYTES);
  const expiresAt = Math.floor(Date.now() / 1000) + LOG_TTL_SECONDS;
  let offset = log.bytes;
  const puts: Write[] = pieces.map((piece) => {
    offset += Buffer.byteLength(piece);
    return {
      put: { ...buildKeys.logChunk(build.id, offset), offset, text: piece, expiresAt },
      condition: 'attribute_not_exists(PK)',
      onFail: () => conflict('build-moved', 'This part of the log is written already.'),
    };
  });
  return advanceBuild(build, {
    ...move,
    set: {
      ...move.set,
      log: { bytes: offset, chunks: log.chunks + puts.length },
      ...(cursor ? { _log_cursor: cursor } : {}),
    },
    also: [...puts, ...(move.also ?? [])],
    condition: {
      expression: '#log.#bytes = :bytes',
      names: { '#log': 'log', '#bytes': 'bytes' },
      values: { ':bytes': log.bytes },
    },
  });
}

const LOG_FULL = `[slipway] the log reached ${MAX_LOG_BYTES / 1024 / 1024} MiB; later lines are not stored\n`;

/** At most `bytes` of `text`, cut after its last whole line. */
function cut(text: string, bytes: number): string {
  const head = Buffer.from(text).subarray(0, Math.max(0, bytes)).toString('utf8');
  return head.slice(0, head.lastIndexOf('\n') + 1);
}

/** Pieces of at most `bytes` each, cut between lines (a longer line is cut where it must be). */
export function splitLines(text: string, bytes: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if (piece && Buffer.byteLength(piece) + Buffer.byteLength(line) > bytes) {
      pieces.push(piece);
      piece = '';
    }
    for (let rest = line; rest; ) {
      const head = Buffer.byteLength(rest) <= bytes ? rest : utf8Head(rest, bytes);
      if (head !== rest) {
        pieces.push(head);
        rest = rest.slice(head.length);
      } else {
        piece += rest;
        rest = '';
      }
    }
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/** The longest start of `text` that fits in `bytes` of UTF-8 without splitting a character (one character at least). */
function utf8Head(text: string, bytes: number): string {
  let head = Buffer.from(text).subarray(0, bytes).toString('utf8');
  while (Buffer.byteLength(head) > bytes || head.endsWith('\uFFFD')) head = head.slice(0, -1);
  return head || String.fromCodePoint(text.codePointAt(0) as number);
}

/**
 * The stored chunks after byte `position`, in order, up to about `maxBytes`: a Query on the chunk
 * keys, one page per ~1 MB. The first chunk is cut to start at `position` when that falls inside it.
 */
export async function readChunks(buildId: string, position: number, maxBytes: number): Promise<LogChunk[]> {
  const chunks: LogChunk[] = [];
  let bytes = 0;
  // The chunk keys are positions: a Query resuming "after" the key of `position` starts right there.
  let startAfter: Item | undefined = buildKeys.logChunk(buildId, position);
  while (startAfter && bytes < maxBytes) {
    const page = await query({ partition: logPartition(buildId), limit: 100, startAfter, consistent: true });
    for (const item of page.items) {
      chunks.push({ offset: item.offset as number, text: item.text as string });
      bytes += Buffer.byteLength(item.text as string);
    }
    startAfter = page.lastKey;
  }
  return chunksFrom(chunks, position);
}

/** Chunks in order, those ending after `position`, the first cut to begin exactly there. */
export function chunksFrom(chunks: readonly LogChunk[], position: number): LogChunk[] {
  const after = chunks.filter((chunk) => chunk.offset > position);
  const [first, ...rest] = after;
  if (!first) return [];
  const text = Buffer.from(first.text);
  const start = first.offset - text.length;
  if (start >= position) return after;
  return [{ offset: first.offset, text: text.subarray(position - start).toString('utf8') }, ...rest];
}
