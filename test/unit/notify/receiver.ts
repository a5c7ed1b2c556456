/**
 * A local webhook receiver on 127.0.0.1 for the notifier's tests: records every connection and
 * request, and answers as the test says (a provider's JSON, an error, a redirect, or nothing).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as sent. */
  rawUrl: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: string;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | object;
}

/** What to answer; 'hang' never answers (for timeouts). */
export type Responder = (request: ReceivedRequest) => Answer | 'hang';

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** TCP connections accepted, requests or not: proves a refused post never reached the socket. */
  connections: number;
  answer: Responder;
  close(): Promise<void>;
}

export async function startReceiver(answer: Responder = () => ({ body: 'ok' })): Promise<Receiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://receiver');
      const request: ReceivedRequest = {
        method: req.method ?? '',
        rawUrl: req.url ?? '/',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        raw,
        json: parse(raw),
      };
      receiver.requests.push(request);
      const reply = receiver.answer(request);
      if (reply === 'hang') return;
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(body);
    });
  });
  server.on('connection', () => {
    receiver.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: [],
    connections: 0,
    answer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}

function parse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
