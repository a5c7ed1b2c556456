/**
 * The port the deployer uses to reach a cluster: apply a workload, read its rollout. Every
 * cluster failure leaves as an error whose `name` the state machine's Retry/Catch match:
 * ClusterUnreachable and ClusterThrottled are worth retrying; ClusterRejected (the cluster said
 * no) and ClusterConfigInvalid (the registered credentials cannot be used) are not.
 */
import { STATUS_CODES } from 'node:http';
import {
  ApiException,
  AppsV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { ClusterTarget } from '../domain/cluster.ts';
import { clusterCredentials, forgetCredentials } from './credentials.ts';
import { type ClusterUser, kubeConfigFor } from './kubeconfig.ts';
import { type RolloutStatus, rolloutStatus } from './rollout.ts';
import { MANAGED_BY_LABEL } from './workload.ts';

export type { ClusterTarget } from '../domain/cluster.ts';
export { ClusterConfigInvalid } from './kubeconfig.ts';
export type { RolloutStatus } from './rollout.ts';

const FIELD_MANAGER = 'slipway';
const REQUEST_TIMEOUT_MS = 10_000;

/** Connection refused or reset, DNS, timeout, TLS: the cluster may answer on a retry. */
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
 * Ensures the namespace, then server-side applies the Deployment as field manager `slipway`
 * (force: Slipway owns the fields it renders). Returns what readRollout must see observed.
 */
export async function applyWorkload(
  cluster: ClusterTarget,
  deployment: V1Deployment,
): Promise<{ generation: number; resourceVersion: string }> {
  const name = deployment.metadata?.name;
  const namespace = deployment.metadata?.namespace;
  if (!name || !namespace) throw new Error('A workload needs metadata.name and metadata.namespace');
  return call(cluster, async ({ apps, core }) => {
    await core.patchNamespace(
      {
        name: namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace, labels: { [MANAGED_BY_LABEL]: 'slipway' } },
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      applyOptions,
    );
    const applied = await apps.patchNamespacedDeployment(
      { name, namespace, body: deployment, fieldManager: FIELD_MANAGER, force: true },
      applyOptions,
    );
    return {
      generation: applied.metadata?.generation ?? 0,
      resourceVersion: applied.metadata?.resourceVersion ?? '',
    };
  });
}

/** Reads the Deployment and judges its rollout against the generation our apply produced. */
export async function readRollout(
  cluster: ClusterTarget,
  namespace: string,
  name: string,
  generation: number,
): Promise<RolloutStatus> {
  return call(cluster, async ({ apps }) => {
    const deployment = await apps.readNamespacedDeployment({ name, namespace }, requestOptions);
    return rolloutStatus(deployment, generation);
  });
}

// --- clients ---------------------------------------------------------------------------------

interface Clients {
  apps: AppsV1Api;
  core: CoreV1Api;
}

/** The generated client takes rxjs-like middleware; this one bounds every request in time. */
const timeoutMiddleware: ObservableMiddleware = {
  pre: (context) => {
    context.setSignal(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    return new Observable(Promise.resolve(context));
  },
  post: (response) => new Observable(Promise.resolve(response)),
};

const requestOptions: ConfigurationOptions = { middleware: [timeoutMiddleware], middlewareMergeStrategy: 'append' };
// Patches default to JSON Patch: apply must say so in its content type.
const applyOptions = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply, requestOptions);

const clientCache = new Map<string, { fingerprint: string; clients: Clients }>();

/** Built once per cluster, rebuilt when the credentials (or the cluster's address or CA) change. */
function clientsFor(cluster: ClusterTarget, user: ClusterUser): Clients {
  const fingerprint = JSON.stringify([user, cluster.api_server_url, cluster.ca_data]);
  const cached = clientCache.get(cluster.id);
  if (cached?.fingerprint === fingerprint) return cached.clients;
  const kubeConfig = kubeConfigFor(cluster, user);
  const clients = { apps: kubeConfig.makeApiClient(AppsV1Api), core: kubeConfig.makeApiClient(CoreV1Api) };
  clientCache.set(cluster.id, { fingerprint, clients });
  return clients;
}

async function call<T>(cluster: ClusterTarget, work: (clients: Clients) => Promise<T>): Promise<T> {
  const { user } = await clusterCredentials(cluster);
  try {
    return await work(clientsFor(cluster, user));
  } catch (error) {
    const classified = classify(cluster, error);
    if (classified instanceof ClusterRejected && classified.status === 401) forgetCredentials(cluster);
    throw classified;
  }
}

// --- errors ----------------------------------------------------------------------------------

/** Maps what client-node and undici throw to our three errors; anything else is a bug and stays as is. */
export function classify(cluster: Pick<ClusterTarget, 'name' | 'api_server_url'>, error: unknown): unknown {
  const where = `cluster ${cluster.name} (${cluster.api_server_url})`;
  if (error instanceof ApiException) {
    const detail = `${where}: HTTP ${error.code}: ${statusMessage(error.body) ?? STATUS_CODES[error.code]}`;
    if (error.code === 429 || error.code >= 500) return new ClusterThrottled(detail, { cause: error });
    return new ClusterRejected(detail, error.code, { cause: error });
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ClusterUnreachable(`${where}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`, { cause: error });
  }
  // undici's fetch fails with TypeError('fetch failed') and the socket's error as cause.
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new ClusterUnreachable(`${where}: ${networkCause(error.cause)}`, { cause: error });
  }
  return error;
}

function networkCause(cause: unknown): string {
  if (!(cause instanceof Error)) return 'network error';
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ISSUER|TLS|SSL/.test(code)) {
    // Node's hint about the system CA store does not apply: we trust only the registered CA.
    const reason = cause.message.split('; if the root CA')[0];
    return `TLS verification failed against the registered CA (${code}): ${reason}`;
  }
  return cause.message;
}

/** The API server answers errors as a Status object; its `message` is the part worth showing. */
function statusMessage(body: unknown): string | undefined {
  // client-node drops the body of a 401.
  if (body === undefined || body === '') return undefined;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  try {
    const status = JSON.parse(text) as { message?: unknown; reason?: unknown };
    if (typeof status.message === 'string') return status.message;
    if (typeof status.reason === 'string') return status.reason;
  } catch {
    // not JSON: show the start of what came back
  }
  return text.slice(0, 300);
}
