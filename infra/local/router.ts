/**
 * HTTP API route selection: `METHOD /path/{param}` templates, `{name+}` greedy last segment,
 * `ANY` method. When several routes match, the most specific wins (literal segment over
 * `{param}` over `{greedy+}`, exact method over ANY), as API Gateway documents.
 */

/** What the router needs of a route; the manifest's RouteSpec is one. */
export interface RouteLike {
  method: string;
  path: string;
}

export interface RouteMatch<R extends RouteLike> {
  route: R;
  /** `GET /api/v1/projects/{id}` */
  routeKey: string;
  /** Decoded values, or undefined when the template has no parameters (as in the event). */
  pathParameters: Record<string, string> | undefined;
}

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

interface CompiledRoute<R> {
  route: R;
  method: string;
  segments: Segment[];
}

export type Router<R extends RouteLike> = (method: string, rawPath: string) => RouteMatch<R> | undefined;

export function createRouter<R extends RouteLike>(routes: readonly R[]): Router<R> {
  const compiled = routes.map((route) => compile(route));
  return (method, rawPath) => {
    const parts = rawPath.split('/').slice(1).map(decodeLenient);
    let best: { entry: CompiledRoute<R>; params: Record<string, string> } | undefined;
    for (const entry of compiled) {
      if (entry.method !== method && entry.method !== 'ANY') continue;
      const params = match(entry.segments, parts);
      if (params !== undefined && (best === undefined || moreSpecific(entry, best.entry))) best = { entry, params };
    }
    if (best === undefined) return undefined;
    const { route } = best.entry;
    return {
      route,
      routeKey: `${route.method} ${route.path}`,
      pathParameters: Object.keys(best.params).length > 0 ? best.params : undefined,
    };
  };
}

/** Decodes %XX runs that form valid UTF-8 and leaves anything else as sent (API Gateway does not reject `/a%zz`). */
export function decodeLenient(text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function compile<R extends RouteLike>(route: R): CompiledRoute<R> {
  const segments = route.path
    .split('/')
    .slice(1)
    .map((part, index, all): Segment => {
      const param = /^\{([^{}+]+)(\+)?\}$/.exec(part);
      if (!param) return { kind: 'literal', value: part };
      if (param[2] && index !== all.length - 1) throw new Error(`Greedy parameter must be last: ${route.path}`);
      return { kind: param[2] ? 'greedy' : 'param', name: param[1] ?? '' };
    });
  return { route, method: route.method.toUpperCase(), segments };
}

function match(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    const part = parts[index];
    if (segment.kind === 'greedy') {
      const rest = parts.slice(index).join('/');
      if (rest === '') return undefined;
      params[segment.name] = rest;
      return params;
    }
    if (part === undefined) return undefined;
    if (segment.kind === 'literal' && segment.value !== part) return undefined;
    if (segment.kind === 'param') {
      if (part === '') return undefined;
      params[segment.name] = part;
    }
  }
  return segments.length === parts.length ? params : undefined;
}

/** Lower is more specific; a template that has ended ranks after any segment. */
const rank = (segment: Segment | undefined): number =>
  segment === undefined ? 3 : { literal: 0, param: 1, greedy: 2 }[segment.kind];

function moreSpecific<R>(a: CompiledRoute<R>, b: CompiledRoute<R>): boolean {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const ra = rank(a.segments[i]);
    const rb = rank(b.segments[i]);
    if (ra !== rb) return ra < rb;
  }
  return a.method !== 'ANY' && b.method === 'ANY';
}
