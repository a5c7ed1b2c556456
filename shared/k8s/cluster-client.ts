/**
 * The port the deployer uses to reach a cluster: apply a workload, read its rollout. Every
 * cluster failure leaves as an error whose `name` the state machine's Retry/Catch match:
 * ClusterUnreachable and ClusterThrottled are worth retrying; ClusterRejected (the cluster said
 * no) and ClusterConfigInvalid (the registered credentials or address cannot be used) are not.
 */
import { STATUS_CODES } from 'node:http';
import {
  type ApiConstructor,
  ApiException,
  type ApiType,
  AppsV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { ClusterTarget } from '../domain/cluster.ts';
import { ClusterAddressRefused } from '../net/cluster-egress.ts';
import { clusterText } from './cluster-text.ts';
import { clusterCredentials, forgetCredentials } from './credentials.ts';
import { ClusterConfigInvalid, type ClusterUser, kubeConfigFor } from './kubeconfig.ts';
import { type RolloutStatus, rolloutStatus, runningDigest } from './rollout.ts';
import { MANAGED_BY_LABEL, NAME_LABEL, ownedAs, unlabelledSlipwayDeployment } from './workload.ts';

export type { ClusterTarget } from '../domain/cluster.ts';
export type { RolloutStatus } from './rollout.ts';
export { ClusterConfigInvalid };

const FIELD_MANAGER = 'slipway';
const REQUEST_TIMEOUT_MS = 10_000;

/** Connection refused or closed, DNS, timeout, TLS: the cluster may answer on a retry. */
export class ClusterUnreachable extends Error {
  override name = 'ClusterUnreachable';
}

/** 429 or 5xx: the API server is there but busy or failing; retry with backoff. */
export class ClusterThrottled extends Error {
  override name = 'ClusterThrottled';
}

/** Any other 4xx (401, 403, 404, 409, 422...): retrying the same request cannot help. */
export class ClusterRejected extends Error {
  override name = 'ClusterRejected';
  readonly status: number;

  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/**
 * Server-side applies the Deployment as field manager `slipway` (force: Slipway owns the fields it
 * renders), but only over a Deployment this environment owns (ADR 12). It reads the Deployment
 * first: one that exists without this environment's owner labels is refused (ClusterRejected) and
 * left untouched — unless it is an earlier Slipway's, unlabelled, and `adoptUnlabelled` says the
 * deployment named on it was this environment's. The namespace is created only when the cluster
 * says it is missing; an existing one is never changed. Returns what readRollout must see observed.
 */
export async function applyWorkload(
  cluster: ClusterTarget,
  deployment: V1Deployment,
  adoptUnlabelled: (deploymentId: string) => Promise<boolean> = async () => false,
): Promise<{ generation: number; resourceVersion: string }> {
  const name = deployment.metadata?.name;
  const namespace = deployment.metadata?.namespace;
  if (!name || !namespace) throw new Error('A workload needs metadata.name and metadata.namespace');
  return withCluster(cluster, async (api) => {
    const apps = api(AppsV1Api);
    const existing = await apps.readNamespacedDeployment({ name, namespace }, requestOptions).catch(absentOn404);
    if (existing && !(await mayChange(existing, deployment, adoptUnlabelled))) {
      throw new ClusterRejected(
        `${where(cluster)}: Deployment ${namespace}/${name} exists and is not managed by this environment; it was left untouched`,
        409,
      );
    }
    const apply = () =>
      apps.patchNamespacedDeployment(
        { name, namespace, body: deployment, fieldManager: FIELD_MANAGER, force: true },
        applyOptions,
      );
    const applied = await apply().catch(async (error: unknown) => {
      if (
        !(error instanceof ApiException && error.code === 404 && statusOf(error.body)?.details?.kind === 'namespaces')
      )
        throw error;
      await createNamespace(api(CoreV1Api), namespace);
      return apply();
    });
    return {
      generation: applied.metadata?.generation ?? 0,
      resourceVersion: applied.metadata?.resourceVersion ?? '',
    };
  });
}

async function mayChange(
  existing: V1Deployment,
  desired: V1Deployment,
  adoptUnlabelled: (deploymentId: string) => Promise<boolean>,
): Promise<boolean> {
  if (ownedAs(existing, desired)) return true;
  const earlier = unlabelledSlipwayDeployment(existing);
  return earlier !== undefined && (await adoptUnlabelled(earlier));
}

const absentOn404 = (error: unknown): undefined => {
  if (error instanceof ApiException && error.code === 404) return undefined;
  throw error;
};

/** A namespace someone else creates at the same moment is as good as ours. */
export async function createNamespace(core: CoreV1Api, name: string): Promise<void> {
  const body = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [MANAGED_BY_LABEL]: 'slipway' } } };
  await core.createNamespace({ body, fieldManager: FIELD_MANAGER }, requestOptions).catch((error: unknown) => {
    if (!(error instanceof ApiException && error.code === 409)) throw error;
  });
}

/** Reads the Deployment and judges its rollout against the generation our apply produced. */
export async function readRollout(
  cluster: ClusterTarget,
  namespace: string,
  name: string,
  generation: number,
): Promise<RolloutStatus> {
  return withCluster(cluster, async (api) => {
    const deployment = await api(AppsV1Api).readNamespacedDeployment({ name, namespace }, requestOptions);
    const status = rolloutStatus(deployment, generation);
    if (status.phase !== 'complete') return status;
    // Complete: record the digest the pods run, so the release (and a promotion of it) is exact.
    const pods = await api(CoreV1Api).listNamespacedPod(
      { namespace, labelSelector: `${NAME_LABEL}=${name}` },
      requestOptions,
    );
    const digest = runningDigest(deployment, pods.items);
    return digest ? { ...status, digest } : status;
  });
}

// --- clients ---------------------------------------------------------------------------------

/** The generated API client of a group (AppsV1Api, BatchV1Api, ...) for one cluster, made once. */
export type Api = <T extends ApiType>(group: ApiConstructor<T>) => T;

/** The generated client takes rxjs-like middleware; this one bounds every request in time. */
const timeoutMiddleware: ObservableMiddleware = {
  pre: (context) => {
    context.setSignal(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    return new Observable(Promise.resolve(context));
  },
  post: (response) => new Observable(Promise.resolve(response)),
};

/** Options of every request: bounded in time. */
export const requestOptions: ConfigurationOptions = {
  middleware: [timeoutMiddleware],
  middlewareMergeStrategy: 'append',
};
// Patches default to JSON Patch: apply must say so in its content type.
const applyOptions = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply, requestOptions);

const clientCache = new Map<
  string,
  { fingerprint: string; kubeConfig: KubeConfig; clients: Map<ApiConstructor<ApiType>, ApiType> }
>();

/** Built once per cluster, rebuilt when the credentials (or the cluster's address or CA) change. */
function clientsFor(cluster: ClusterTarget, user: ClusterUser): Api {
  const fingerprint = JSON.stringify([user, cluster.api_server_url, cluster.ca_data]);
  let cached = clientCache.get(cluster.id);
  if (cached?.fingerprint !== fingerprint) {
    cached = { fingerprint, kubeConfig: kubeConfigFor(cluster, user), clients: new Map() };
    clientCache.set(cluster.id, cached);
  }
  const { kubeConfig, clients } = cached;
  return <T extends ApiType>(group: ApiConstructor<T>): T => {
    const client = (clients.get(group) as T | undefined) ?? kubeConfig.makeApiClient(group);
    clients.set(group, client);
    return client;
  };
}

/**
 * Runs `work` with the cluster's API clients, under its current credentials; every failure leaves
 * classified (ClusterUnreachable, ClusterThrottled, ClusterRejected, ClusterConfigInvalid).
 */
export async function withCluster<T>(cluster: ClusterTarget, work: (api: Api) => Promise<T>): Promise<T> {
  const { user } = await clusterCredentials(cluster);
  try {
    return await work(clientsFor(cluster, user));
  } catch (error) {
    const classified = classify(cluster, error);
    if (classified instanceof ClusterRejected && classified.status === 401) forgetCredentials(cluster);
    throw classified;
  }
}

// --- errors ---------------------------------------------------------------------------------

/**
 * Maps what client-node and undici throw to our errors; anything else is a bug and stays as is.
 * What reaches a deployment's reason is our own words, the HTTP status and a Status object's
 * message: never the rest of a cluster's answer, nor OpenSSL's or the socket's own text.
 */
export function classify(cluster: Pick<ClusterTarget, 'name' | 'api_server_url'>, error: unknown): unknown {
  const at = where(cluster);
  if (error instanceof ApiException) {
    const detail = `${at}: HTTP ${error.code}: ${statusMessage(error.body) ?? STATUS_CODES[error.code] ?? 'error'}`;
    if (error.code === 429 || error.code >= 500) return new ClusterThrottled(detail, { cause: error });
    return new ClusterRejected(detail, error.code, { cause: error });
  }
  // The registered URL points where Slipway does not go: retrying cannot help, changing the URL can.
  const refused = causes(error).find((one) => one instanceof ClusterAddressRefused);
  if (refused) return new ClusterConfigInvalid(`${at}: address not allowed: ${refused.message}`, { cause: error });
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ClusterUnreachable(`${at}: timeout: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`, {
      cause: error,
    });
  }
  // client-node's parse errors quote the answer (JSON.parse's snippet, the content type): not shown.
  if (
    error instanceof SyntaxError ||
    (error instanceof Error && /^The mediaType .* is not supported/.test(error.message))
  ) {
    return new ClusterUnreachable(`${at}: the answer is not a Kubernetes object`, { cause: error });
  }
  // undici's fetch fails with TypeError('fetch failed') and the socket's error as cause.
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new ClusterUnreachable(`${at}: ${networkCause(error.cause)}`, { cause: error });
  }
  return error;
}

/** How every cluster error starts: which cluster, at which address. */
const where = (cluster: Pick<ClusterTarget, 'name' | 'api_server_url'>) =>
  `cluster ${cluster.name} (${cluster.api_server_url})`;

/** Error codes (Node's, undici's, OpenSSL's as Node names them) to a few words; the first match wins. */
const NETWORK_CAUSES: readonly (readonly [RegExp, string])[] = [
  [/^ECONNREFUSED$/, 'connection refused'],
  [/^(ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED)$/, 'connection closed by the server'],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|EAI_NODATA)$/, 'host not found'],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/, 'timeout'],
  [/^(EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN)$/, 'no route to the host'],
  [
    /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|CERT_REJECTED)$/,
    'certificate not trusted: not signed by the registered CA',
  ],
  [/^CERT_HAS_EXPIRED$/, 'certificate expired'],
  [/^CERT_NOT_YET_VALID$/, 'certificate not yet valid'],
  [/^ERR_TLS_CERT_ALTNAME_INVALID$/, 'certificate not valid for this host name'],
  [/CERT|TLS|SSL|EPROTO/, 'TLS handshake failed'],
];

function networkCause(cause: unknown): string {
  const code = causes(cause)
    .map((one) => (one as { code?: unknown }).code)
    .find((one): one is string => typeof one === 'string');
  if (code === undefined) return 'network error';
  return NETWORK_CAUSES.find(([pattern]) => pattern.test(code))?.[1] ?? `network error (${code})`;
}

/** The error and its causes, and an AggregateError's first error (autoSelectFamily tries every address). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let one = error; one instanceof Error && chain.length < 5; ) {
    chain.push(one);
    one = one instanceof AggregateError && one.errors.length > 0 ? one.errors[0] : one.cause;
  }
  return chain;
}

/** The `message` of a well-formed Status object: the only part of an error body that is the cluster's word to us. */
function statusMessage(body: unknown): string | undefined {
  // client-node drops the body of a 401.
  const status = statusOf(body);
  if (status?.kind !== 'Status' || status.apiVersion !== 'v1' || typeof status.message !== 'string') return undefined;
  return clusterText(status.message) || undefined;
}

/** A Kubernetes answer's body as an object (client-node hands some over as text), or undefined. */
function statusOf(
  body: unknown,
): { kind?: unknown; apiVersion?: unknown; message?: unknown; details?: { kind?: unknown } } | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
}
