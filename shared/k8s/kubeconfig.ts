import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterTarget } from './credentials.ts';

/**
 * A KubeConfig for one cluster and one bearer token. The server certificate is always checked
 * against the cluster's registered CA: never skipTLSVerify, whatever the cluster.
 */
export function kubeConfigFor(
  cluster: Pick<ClusterTarget, 'name' | 'api_server_url' | 'ca_data'>,
  token: string,
): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.api_server_url, caData: cluster.ca_data, skipTLSVerify: false }],
    users: [{ name: 'slipway', token }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: 'slipway' }],
    currentContext: cluster.name,
  });
  return kubeConfig;
}
