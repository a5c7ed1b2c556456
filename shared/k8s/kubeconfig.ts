import type { AgentOptions } from 'node:https';
import { type Cluster, type DispatcherOptions, KubeConfig, loadYaml, type User } from '@kubernetes/client-node';
import type { ClusterTarget } from '../domain/cluster.ts';
import { assertClusterUrl, clusterLookup } from '../net/cluster-egress.ts';

/**
 * What Slipway presents to a cluster as itself: a bearer token, a client certificate, or a
 * username and password. Never a command, a plugin or a file: a Lambda has none of them.
 */
export type ClusterUser = Pick<User, 'token' | 'certData' | 'keyData' | 'username' | 'password'>;

/**
 * The cluster's stored auth cannot work as it stands (a kubeconfig Slipway cannot use): retrying
 * cannot help, so the state machine does not retry it, and the message says what to change.
 */
export class ClusterConfigInvalid extends Error {
  override name = 'ClusterConfigInvalid';
}

/**
 * A KubeConfig for one cluster and one user. The server and its CA always come from the cluster
 * record, the server certificate is always checked against that CA (never skipTLSVerify), and the
 * socket reaches only addresses the cluster egress rules allow.
 */
export function kubeConfigFor(
  cluster: Pick<ClusterTarget, 'name' | 'api_server_url' | 'ca_data'>,
  user: ClusterUser,
): KubeConfig {
  const kubeConfig = new EgressCheckedKubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.api_server_url, caData: cluster.ca_data, skipTLSVerify: false }],
    users: [{ name: 'slipway', ...user }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: 'slipway' }],
    currentContext: cluster.name,
  });
  return kubeConfig;
}

/**
 * client-node builds an undici dispatcher per request from these options, and undici hands
 * `connect` to tls.connect: an IP literal is refused before that, a host name is resolved by
 * clusterLookup, so the address checked is the address connected to.
 */
class EgressCheckedKubeConfig extends KubeConfig {
  override createDispatcherOptions(cluster: Cluster | null, agentOptions: AgentOptions): DispatcherOptions {
    const options = super.createDispatcherOptions(cluster, agentOptions);
    // The record always holds a CA (so an agent) and never a proxy: anything else is not ours to send.
    if (!cluster || options.type !== 'agent') throw new Error('A cluster connection needs its CA and no proxy');
    assertClusterUrl(cluster.server);
    return { type: 'agent', connect: { ...options.connect, lookup: clusterLookup } };
  }
}

/**
 * Why each user field a kubeconfig may hold cannot be used by Slipway. The kubeconfig's own
 * clusters are ignored (the record says where and whom to trust); only its user is read.
 */
const REFUSED_USER_FIELDS: Record<string, string> = {
  exec: 'runs a command to get credentials (exec)',
  'auth-provider': 'uses a plugin to get credentials (auth-provider)',
  'client-certificate': 'reads its client certificate from a file (client-certificate)',
  'client-key': 'reads its client key from a file (client-key)',
  tokenFile: 'reads its token from a file (tokenFile)',
  // client-node's spelling, which it would read at load: refused before anything loads it.
  'token-file': 'reads its token from a file (token-file)',
  as: 'impersonates another user (as)',
  'as-uid': 'impersonates another user (as-uid)',
  'as-groups': 'impersonates groups (as-groups)',
  'as-user-extra': 'impersonates another user (as-user-extra)',
};

const INLINE_HINT =
  'store a kubeconfig whose user has client-certificate-data and client-key-data, a token, or a username and password';

/**
 * The credentials of the kubeconfig user that `context` (or the current context) names. Parsed
 * with client-node's YAML loader (JSON is YAML); errors never quote the document, which holds secrets.
 */
export function userFromKubeconfig(text: string, context?: string): ClusterUser {
  const config = parseKubeconfig(text);
  const contextName = context ?? stringField(config, 'current-context');
  if (!contextName) throw new ClusterConfigInvalid('the kubeconfig has no current-context and none was registered');
  const contextEntry = namedEntry(config, 'contexts', contextName)?.context;
  if (!isObject(contextEntry)) throw new ClusterConfigInvalid(`the kubeconfig has no context "${contextName}"`);
  const userName = stringField(contextEntry, 'user');
  if (!userName) throw new ClusterConfigInvalid(`the kubeconfig context "${contextName}" names no user`);
  const user = namedEntry(config, 'users', userName)?.user;
  if (!isObject(user)) throw new ClusterConfigInvalid(`the kubeconfig has no user "${userName}"`);
  return inlineCredentials(user, `the kubeconfig user "${userName}"`);
}

function parseKubeconfig(text: string): Record<string, unknown> {
  if (text.trim() === '') throw new ClusterConfigInvalid('the kubeconfig secret is empty');
  let config: unknown;
  try {
    config = loadYaml(text);
  } catch (error) {
    // js-yaml's message quotes the lines around the fault: keep only the line number.
    const line = (error as { mark?: { line?: number } }).mark?.line;
    const where = typeof line === 'number' ? ` (line ${line + 1})` : '';
    throw new ClusterConfigInvalid(`the kubeconfig secret is not YAML or JSON${where}`);
  }
  if (!isObject(config) || !Array.isArray(config.users) || !Array.isArray(config.contexts)) {
    throw new ClusterConfigInvalid('the kubeconfig secret is not a kubeconfig (it needs users and contexts)');
  }
  return config;
}

function inlineCredentials(user: Record<string, unknown>, who: string): ClusterUser {
  const refused = Object.keys(user).find((field) => Object.hasOwn(REFUSED_USER_FIELDS, field) && user[field] != null);
  if (refused) throw new ClusterConfigInvalid(`${who} ${REFUSED_USER_FIELDS[refused]}: ${INLINE_HINT}`);
  const certData = pemData(user, 'client-certificate-data', who);
  const keyData = pemData(user, 'client-key-data', who);
  if (Boolean(certData) !== Boolean(keyData)) {
    throw new ClusterConfigInvalid(`${who} needs both client-certificate-data and client-key-data`);
  }
  const token = stringField(user, 'token');
  const username = stringField(user, 'username');
  const password = stringField(user, 'password');
  if (Boolean(username) !== Boolean(password))
    throw new ClusterConfigInvalid(`${who} needs both username and password`);
  if (!certData && !token && !username) throw new ClusterConfigInvalid(`${who} has no credentials: ${INLINE_HINT}`);
  return {
    ...(certData && keyData ? { certData, keyData } : {}),
    ...(token ? { token } : {}),
    ...(username && password ? { username, password } : {}),
  };
}

/** Base64 of a PEM block, as kubeconfigs hold certificates and keys; checked here so TLS does not fail later, obscurely. */
function pemData(user: Record<string, unknown>, field: string, who: string): string | undefined {
  const value = user[field];
  if (value === undefined || value === null || value === '') return undefined;
  const pem = typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';
  if (!pem.includes('-----BEGIN ')) throw new ClusterConfigInvalid(`${who} has a ${field} that is not base64 of PEM`);
  return value as string;
}

function namedEntry(config: Record<string, unknown>, list: string, name: string): Record<string, unknown> | undefined {
  const entries = config[list] as unknown[];
  return entries.find((entry): entry is Record<string, unknown> => isObject(entry) && entry.name === name);
}

function stringField(object: Record<string, unknown>, field: string): string | undefined {
  const value = object[field];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
