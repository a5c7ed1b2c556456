/**
 * The pure part of collecting a build's log: the lines of a pod log read with `timestamps=true`
 * from a `sinceTime` (which the API server counts in whole seconds, so the lines of that second
 * come again), told apart from the ones already stored by a cursor; secrets masked; line breaks
 * made `\n` only (a lone `\r` would split a Server-Sent Event's data where the build did not).
 */

/** All lines stamped before `time` are stored, and the first `seen` lines stamped exactly `time`. */
export interface LogCursor {
  /** `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: fixed width, so it compares as text. */
  time: string;
  seen: number;
}

export interface NewLines {
  /** The new lines, each ending in `\n`. */
  text: string;
  cursor: LogCursor | undefined;
  /** The read was cut by its byte limit: there is more to read now. */
  more: boolean;
}

/** Kubernetes' `sinceTime` for a cursor: its second (the API server drops the fraction anyway). */
export const sinceTime = (cursor: LogCursor | undefined): string | undefined =>
  cursor ? `${cursor.time.slice(0, 19)}Z` : undefined;

/**
 * The lines of `body` that come after `cursor`, and the cursor after them. `limited`: the read
 * asked for at most this many bytes, so a body that long may end in the middle of a line.
 */
export function newLines(body: string, cursor: LogCursor | undefined, limited?: number): NewLines {
  const lines = body.split('\n');
  const last = lines.pop() ?? '';
  const more = limited !== undefined && Buffer.byteLength(body) >= limited;
  // A cut line waits for the next read, unless it is all there is (a line longer than the limit).
  if (last !== '' && (!more || lines.length === 0)) lines.push(last);
  let next = cursor;
  let pending = cursor?.seen ?? 0;
  const kept: string[] = [];
  for (const line of lines) {
    const space = line.indexOf(' ');
    const time = normalizeTime(space > 0 ? line.slice(0, space) : '') ?? next?.time ?? EPOCH;
    const text = space > 0 && time !== EPOCH ? line.slice(space + 1) : line;
    if (cursor && time < cursor.time) continue;
    if (cursor && time === cursor.time && pending > 0) {
      pending--;
      continue;
    }
    kept.push(text);
    next = next && next.time === time ? { time, seen: next.seen + 1 } : { time, seen: 1 };
  }
  const text = kept.map((line) => `${line.replace(/\r\n?/g, '\n')}\n`).join('');
  return { text, cursor: next, more };
}

const EPOCH = '1970-01-01T00:00:00.000000000Z';

/** RFC 3339 with up to nine fraction digits, any offset → UTC with exactly nine; undefined if it is not one. */
export function normalizeTime(value: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!match) return undefined;
  const [, seconds, fraction = '', zone] = match as unknown as [string, string, string | undefined, string];
  const utc = zone === 'Z' ? seconds : new Date(`${seconds}${zone}`).toISOString().slice(0, 19);
  return `${utc}.${fraction.padEnd(9, '0')}Z`;
}

/** A line Slipway itself adds to a build's log. */
export const platformLine = (text: string) => `[slipway] ${text}\n`;

/** Secrets shorter than this are not masked: masking `a` would blank every log (and such a secret guards nothing). */
const SHORTEST_MASKED = 4;
export const MASK = '***';

/**
 * Replaces every secret the build knows (and each line of a multi-line one) with `***`, longest
 * first so a secret containing another is masked whole.
 */
export function masker(secrets: readonly string[]): (text: string) => string {
  const parts = [...new Set(secrets.flatMap((secret) => secret.split(/\r?\n/)).map((part) => part.trim()))]
    .filter((part) => part.length >= SHORTEST_MASKED)
    .sort((a, b) => b.length - a.length);
  if (parts.length === 0) return (text) => text;
  return (text) => parts.reduce((masked, part) => masked.replaceAll(part, MASK), text);
}
