/**
 * Server-Sent Events, as the HTML standard's event stream format: an answer is a whole stream
 * (API Gateway HTTP APIs buffer responses), ending when the route has said what there is; the
 * client's EventSource reconnects after `retry` ms with `Last-Event-ID`.
 */

export interface ServerSentEvent {
  /** The client's last event ID once this event is read: what it resumes from. */
  id?: string;
  /** The event type; the default (`message`) when absent. */
  event?: string;
  data: string;
}

/**
 * The stream: `retry:` first, then each event as `id:`, `event:` and one `data:` line per line of
 * its data (the client joins them with `\n`, so data ending in `\n` keeps it). `data` must not
 * contain `\r`, which the client would also read as a line break.
 */
export function eventStream(events: readonly ServerSentEvent[], retryMs: number): string {
  const fields = [`retry: ${retryMs}\n\n`];
  for (const { id, event, data } of events) {
    if (/[\r\n\0]/.test(`${id ?? ''}${event ?? ''}`) || data.includes('\r')) {
      throw new Error('An event id or type has a line break, or its data a carriage return');
    }
    fields.push(id === undefined ? '' : `id: ${id}\n`);
    fields.push(event === undefined ? '' : `event: ${event}\n`);
    fields.push(
      `${data
        .split('\n')
        .map((line) => `data: ${line}\n`)
        .join('')}\n`,
    );
  }
  return fields.join('');
}
