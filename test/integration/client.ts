/** A tiny HTTP client for tests: speaks to the local gateway exactly as curl would. */

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back
  body: any;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (no JSON encoding): for malformed and oversized bodies. */
  raw?: string;
  headers?: Record<string, string>;
}

export function client(baseUrl: string, token?: string) {
  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}) };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, options.headers);
    const response = await fetch(baseUrl + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  return {
    request,
    get: (path: string, options?: RequestOptions) => request('GET', path, options),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => request('POST', path, { body, headers }),
    put: (path: string, body: unknown, headers?: Record<string, string>) => request('PUT', path, { body, headers }),
    patch: (path: string, body: unknown, headers?: Record<string, string>) => request('PATCH', path, { body, headers }),
    delete: (path: string, headers?: Record<string, string>) => request('DELETE', path, { headers }),
  };
}

export type Client = ReturnType<typeof client>;

/** Polls until `check` passes or the deadline ends: for asynchronous effects, never a fixed sleep. */
export async function eventually<T>(check: () => Promise<T>, deadlineMs = 10_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
