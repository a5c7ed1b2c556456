/**
 * A Kubernetes API server SIMULATOR for the local cloud and the tests: no kube-apiserver can run
 * here (no npm or Debian package ships one, and k3s and kind need Docker), so this HTTPS server
 * speaks the real REST protocol for the subset Slipway uses — discovery, namespaces, deployments
 * (server-side apply, merge and JSON patches, watches), and the pods and events of simulated
 * rollouts — well enough for @kubernetes/client-node and kubectl. It runs no containers: rollouts
 * are computed (rollout.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { readBody } from '../request-body.ts';
import { serverCredentials } from './certificates.ts';
import { SimulatedCluster, selector, type Target, type WriteOptions } from './cluster.ts';
import type { JsonObject } from './json.ts';
import { withinLimits } from './patch.ts';
import {
  apiVersionOf,
  coreVersions,
  findResource,
  group,
  groupList,
  resourceList,
  serverVersion,
} from './resources.ts';
import { badRequest, KubernetesError, methodNotAllowed, unauthorized } from './status.ts';
import { toTable, wantsTable } from './tables.ts';
import { startWorkloads, type Workloads } from './workloads.ts';

export interface SimulatorOptions {
  /** 0 or undefined: a free port. The simulator listens on 127.0.0.1 only. */
  port?: number;
  /** When given, the CA is kept in <dataDir>/kubernetes/ (reused across restarts) and the kubeconfig written there. */
  dataDir?: string;
  /** Time for each new pod to become ready, and the unit of a simulated build's pace (default 1000; 0 = instant). */
  podStartMs?: number;
  /** `:bad` images reach ProgressDeadlineExceeded after this (default: the deployment's progressDeadlineSeconds). */
  badImageFailAfterMs?: number;
  /** The bearer token accepted (default: random); any other token gets a 401 Status. */
  token?: string;
}

export interface KubernetesSimulator {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Base64 of the CA PEM (kubeconfig certificate-authority-data). */
  caData: string;
  token: string;
  /** YAML: cluster and user 'slipway-simulator', its context current. */
  kubeconfig: string;
  kubeconfigPath?: string;
  setOptions(changes: Partial<Pick<SimulatorOptions, 'podStartMs' | 'badImageFailAfterMs'>>): void;
  /** Stop answering (connections refused) / resume on the same port: tests of an unreachable cluster. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** API requests served so far. */
  readonly requests: number;
  stop(): Promise<void>;
}

const clusterName = 'slipway-simulator';
const maxBodyBytes = 3 * 1024 * 1024;
const defaultWatchSeconds = 1800;

export async function startKubernetesSimulator(options: SimulatorOptions = {}): Promise<KubernetesSimulator> {
  const folder = options.dataDir ? join(options.dataDir, 'kubernetes') : undefined;
  const credentials = await serverCredentials(folder);
  const token = options.token ?? (await bearerToken(folder));
  const cluster = new SimulatedCluster({
    podStartMs: options.podStartMs ?? 1000,
    badImageFailAfterMs: options.badImageFailAfterMs,
  });
  // Jobs, their pods and logs, Secrets and garbage collection: workloads.ts.
  const workloads = startWorkloads(cluster.store, options.podStartMs ?? 1000);
  const watches = new Set<ServerResponse>();
  let requests = 0;
  let address = '';

  const server = createServer({ cert: credentials.certPem, key: credentials.keyPem }, (request, response) => {
    requests++;
    const api: Api = { cluster, workloads, token, watches, serverAddress: address };
    handle(api, request, response).catch((error: unknown) => sendError(response, error));
  });
  const port = await listen(server, options.port ?? 0);
  address = `127.0.0.1:${port}`;
  const url = `https://${address}`;
  const caData = Buffer.from(credentials.caPem).toString('base64');
  const kubeconfig = kubeconfigYaml(url, caData, token);
  let kubeconfigPath: string | undefined;
  if (folder) {
    await mkdir(folder, { recursive: true });
    kubeconfigPath = join(folder, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
  }

  const close = async (): Promise<void> => {
    for (const watch of watches) watch.end();
    watches.clear();
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };

  return {
    url,
    caData,
    token,
    kubeconfig,
    ...(kubeconfigPath ? { kubeconfigPath } : {}),
    setOptions: (changes) => {
      cluster.setTiming(changes);
      if (changes.podStartMs !== undefined) workloads.setPace(changes.podStartMs);
    },
    pause: close,
    resume: async () => {
      if (!server.listening) await listen(server, port);
    },
    get requests() {
      return requests;
    },
    stop: async () => {
      cluster.stop();
      workloads.stop();
      await close();
    },
  };
}

interface Api {
  cluster: SimulatedCluster;
  workloads: Workloads;
  token: string;
  watches: Set<ServerResponse>;
  serverAddress: string;
}

async function handle(api: Api, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'https://simulator');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  // Health and version are public on kube-apiserver too (system:public-info-viewer).
  if (['/healthz', '/readyz', '/livez'].includes(path)) return sendText(response, 'ok');
  if (path === '/version') return sendJson(response, 200, serverVersion);
  if (!authorized(request, api.token)) throw unauthorized();
  const body = (await readBody(request, maxBodyBytes))?.toString('utf8');
  if (body === undefined) throw new KubernetesError(413, 'RequestEntityTooLarge', 'request entity too large');
  const discovery = discoveryDocument(path, api.serverAddress);
  if (discovery) return sendJson(response, 200, discovery);
  const route = parseRoute(path);
  if (!route) throw pathNotFound();
  const { target, subresource } = route;
  const options: WriteOptions = { query: url.searchParams, userAgent: request.headers['user-agent'] ?? '', body };
  const method = request.method ?? 'GET';
  if (subresource === 'log' && target.type.kind === 'Pod' && method === 'GET') {
    return api.workloads.serveLog(api.cluster.get(target), url.searchParams, response, api.watches);
  }
  const statusOf = ['Deployment', 'Job'].includes(target.type.kind);
  if (subresource && !(subresource === 'status' && statusOf && method === 'GET')) {
    throw subresource === 'status' ? methodNotAllowed() : pathNotFound();
  }
  requireVerb(target, method, url.searchParams);
  const table = wantsTable(request.headers.accept);
  if (method === 'GET' && target.name === undefined) {
    if (isWatch(url.searchParams)) return watch(api, request, response, target, url.searchParams);
    const { items, resourceVersion } = api.cluster.list(target, url.searchParams);
    if (table)
      return sendJson(
        response,
        200,
        toTable(target.type.kind, items, resourceVersion, url.searchParams.get('includeObject')),
      );
    const list = {
      apiVersion: apiVersionOf(target.type),
      kind: `${target.type.kind}List`,
      metadata: { resourceVersion },
      items: items.map(withoutTypeMeta),
    };
    return sendJson(response, 200, list);
  }
  switch (method) {
    case 'GET': {
      const object = api.cluster.get(target);
      if (table)
        return sendJson(
          response,
          200,
          toTable(
            target.type.kind,
            [object],
            String(object.metadata && (object.metadata as JsonObject).resourceVersion),
            url.searchParams.get('includeObject'),
          ),
        );
      return sendJson(response, 200, object);
    }
    case 'POST':
      return sendJson(response, 201, api.cluster.create(target, parseBody(request, body), options));
    case 'PUT':
      return sendJson(response, 200, api.cluster.replace(target, parseBody(request, body), options));
    case 'PATCH': {
      const { object, created } = api.cluster.patch(target, request.headers['content-type'] ?? '', body, options);
      return sendJson(response, created ? 201 : 200, object);
    }
    case 'DELETE':
      return sendJson(response, 200, api.cluster.delete(target, options));
    default:
      throw methodNotAllowed();
  }
}

function discoveryDocument(path: string, serverAddress: string): JsonObject | undefined {
  if (path === '/api') return coreVersions(serverAddress);
  if (path === '/apis') return groupList();
  if (path === '/api/v1') return resourceList('', 'v1');
  const named = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (!named) return undefined;
  const [, groupName = '', version] = named;
  return version ? resourceList(groupName, version) : group(groupName);
}

/** `/api/v1/...` or `/apis/<group>/<version>/...`, optionally `namespaces/<ns>/`, then `<plural>[/<name>[/<sub>]]`. */
function parseRoute(path: string): { target: Target; subresource: string | undefined } | undefined {
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  let groupName = '';
  let version: string | undefined;
  let rest: string[];
  if (segments[0] === 'api') {
    version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis') {
    groupName = segments[1] ?? '';
    version = segments[2];
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  const inNamespace = rest[0] === 'namespaces' && rest.length >= 3;
  const [plural = '', name, subresource, ...extra] = inNamespace ? rest.slice(2) : rest;
  const type = version ? findResource(groupName, version, plural) : undefined;
  if (!type || extra.length > 0 || (inNamespace && !type.namespaced)) return undefined;
  if (type.namespaced && !inNamespace && name !== undefined) return undefined;
  const target: Target = {
    type,
    ...(inNamespace ? { namespace: rest[1] } : {}),
    ...(name !== undefined ? { name } : {}),
  };
  return { target, subresource };
}

function requireVerb(target: Target, method: string, query: URLSearchParams): void {
  const collection = target.name === undefined;
  const verb =
    method === 'GET'
      ? collection
        ? isWatch(query)
          ? 'watch'
          : 'list'
        : 'get'
      : method === 'POST' && collection
        ? 'create'
        : method === 'PUT' && !collection
          ? 'update'
          : method === 'PATCH' && !collection
            ? 'patch'
            : method === 'DELETE' && !collection
              ? 'delete'
              : undefined;
  const namespacedCreate = verb !== 'create' || !target.type.namespaced || target.namespace !== undefined;
  if (!verb || !target.type.verbs.includes(verb) || !namespacedCreate) throw methodNotAllowed();
}

function isWatch(query: URLSearchParams): boolean {
  return query.get('watch') === 'true' || query.get('watch') === '1';
}

/**
 * A watch: JSON lines of `{type, object}`. Without a resourceVersion (or "0") it starts with ADDED for
 * what exists; from a resourceVersion it replays the changes after it (410 Gone once out of history).
 */
function watch(
  api: Api,
  request: IncomingMessage,
  response: ServerResponse,
  target: Target,
  query: URLSearchParams,
): void {
  const matches = selector(query);
  const inScope = (object: JsonObject): boolean =>
    (target.namespace === undefined || (object.metadata as JsonObject).namespace === target.namespace) &&
    matches(object);
  const send = (type: string, object: JsonObject): void => {
    response.write(`${JSON.stringify({ type, object })}\n`);
  };
  const fromVersion = query.get('resourceVersion');
  const initialEvents = query.get('sendInitialEvents') === 'true';
  let since: number;
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
  // Send the headers now: client-go's Watch() returns only once they arrive, even when no event is due.
  response.flushHeaders();
  if (!fromVersion || fromVersion === '0' || initialEvents) {
    const { items, resourceVersion } = api.cluster.list(target, query);
    for (const item of items) send('ADDED', item);
    since = Number(resourceVersion);
    if (initialEvents) {
      send('BOOKMARK', {
        kind: target.type.kind,
        apiVersion: apiVersionOf(target.type),
        metadata: { resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
  } else {
    since = Number(fromVersion);
    const changes = Number.isNaN(since) ? 'expired' : api.cluster.store.changesSince(target.type.plural, since);
    if (changes === 'expired') {
      const gone = new KubernetesError(410, 'Expired', `too old resource version: ${fromVersion}`);
      send('ERROR', gone.toStatus());
      response.end();
      return;
    }
    for (const change of changes) if (inScope(change.object)) send(change.type, change.object);
  }
  const unsubscribe = api.cluster.store.subscribe((event) => {
    if (event.resource === target.type.plural && event.revision > since && inScope(event.object))
      send(event.type, event.object);
  });
  const seconds = Number(query.get('timeoutSeconds') ?? defaultWatchSeconds) || defaultWatchSeconds;
  const timer = setTimeout(() => response.end(), seconds * 1000);
  timer.unref();
  api.watches.add(response);
  const finish = (): void => {
    clearTimeout(timer);
    unsubscribe();
    api.watches.delete(response);
  };
  response.on('close', finish);
  request.on('close', finish);
}

function authorized(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** POST and PUT bodies: JSON, or YAML when the client says so (kube-apiserver accepts both). */
function parseBody(request: IncomingMessage, body: string): unknown {
  let value: unknown;
  try {
    value = request.headers['content-type']?.includes('yaml') ? parseYaml(body) : JSON.parse(body);
  } catch (error) {
    throw badRequest(`error decoding the request body: ${(error as Error).message}`);
  }
  return withinLimits(value);
}

/** List items carry no kind/apiVersion on the wire (the list's own say it). */
function withoutTypeMeta(object: JsonObject): JsonObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest;
}

function pathNotFound(): KubernetesError {
  return new KubernetesError(404, 'NotFound', 'the server could not find the requested resource');
}

function sendError(response: ServerResponse, error: unknown): void {
  const failure =
    error instanceof KubernetesError
      ? error
      : new KubernetesError(
          500,
          'InternalError',
          `Internal error occurred: ${(error as Error)?.message ?? String(error)}`,
        );
  if (response.headersSent) {
    response.end();
    return;
  }
  sendJson(response, failure.code, failure.toStatus());
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendText(response: ServerResponse, text: string): void {
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function kubeconfigYaml(server: string, caData: string, token: string): string {
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: clusterName, user: { token } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    'current-context': clusterName,
    preferences: {},
  });
}

/** Kept in the data folder like the CA, so a cluster registered with it still works after a restart. */
async function bearerToken(folder: string | undefined): Promise<string> {
  const fresh = randomBytes(24).toString('base64url');
  if (!folder) return fresh;
  const file = join(folder, 'token');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await mkdir(folder, { recursive: true });
    await writeFile(file, fresh, { mode: 0o600 });
    return fresh;
  }
}
