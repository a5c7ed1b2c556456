/**
 * What an EventSource reads from an event stream, following the HTML standard's "interpret an event
 * stream": lines end in CRLF, LF or CR; `id` takes effect when its event is dispatched; an event
 * without data is not dispatched; an unfinished last line or event (a cut connection) is dropped.
 * Shared by the unit test of the framing and the HTTP tests of the builds API.
 */
export interface ParsedStream {
  events: { type: string; data: string; id: string }[];
  /** What the client sends as Last-Event-ID when it reconnects ('' sends none). */
  lastEventId: string;
  retry?: number;
}

export function parseEventStream(text: string, lastEventId: string): ParsedStream {
  const events: ParsedStream['events'] = [];
  let idBuffer = lastEventId;
  let data = '';
  let type = '';
  let retry: number | undefined;
  // Only whole lines count: the tail after the last line break never arrived whole.
  const lines = text.split(/\r\n|\n|\r/);
  lines.pop();
  for (const line of lines) {
    if (line === '') {
      lastEventId = idBuffer;
      if (data !== '') events.push({ type: type || 'message', data: data.slice(0, -1), id: lastEventId });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) idBuffer = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
  return { events, lastEventId, ...(retry === undefined ? {} : { retry }) };
}
