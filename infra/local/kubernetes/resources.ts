/**
 * The resources the Kubernetes simulator serves, and the discovery documents (`/api`, `/apis`,
 * `/api/v1`, `/apis/apps/v1`) kubectl and client libraries read to map kinds to URLs. Only what the
 * platform uses: namespaces, deployments, and the pods and events a rollout leaves behind; jobs
 * (builds), their pods and pod logs, and the secrets they read.
 */
import type { JsonObject } from './json.ts';

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
}

const writable = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export const resourceTypes: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: writable,
  },
  // Pods are derived from deployments' rollouts or created by the job controller, read-only.
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    verbs: ['get', 'list'],
  },
  // Events are written by the simulated controllers only.
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ['get', 'list', 'watch'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    shortNames: [],
    verbs: writable,
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
    verbs: writable,
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    singular: 'job',
    namespaced: true,
    shortNames: [],
    verbs: writable,
  },
];

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return resourceTypes.find((type) => type.group === group && type.version === version && type.plural === plural);
}

export const serverVersion = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-slipway-simulator',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** `/api`: the core group's versions. */
export function coreVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

const namedGroups = ['apps', 'batch'].map((name) => ({
  name,
  versions: [{ groupVersion: `${name}/v1`, version: 'v1' }],
  preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' },
}));

/** `/apis`: the named groups. */
export function groupList(): JsonObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: namedGroups };
}

/** `/apis/<group>`. */
export function group(name: string): JsonObject | undefined {
  const named = namedGroups.find((candidate) => candidate.name === name);
  return named ? { kind: 'APIGroup', apiVersion: 'v1', ...named } : undefined;
}

/** Subresources listed in discovery (served by the simulator, read-only). */
const subresources: Record<string, string[]> = { Deployment: ['status'], Job: ['status'], Pod: ['log'] };

/** `/api/v1` and `/apis/apps/v1`: the resources of one group version. */
export function resourceList(groupName: string, version: string): JsonObject | undefined {
  const types = resourceTypes.filter((type) => type.group === groupName && type.version === version);
  if (types.length === 0) return undefined;
  const resources = types.flatMap((type): JsonObject[] => {
    const main = {
      name: type.plural,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: type.verbs,
      shortNames: type.shortNames,
      ...(['Deployment', 'Job', 'Pod'].includes(type.kind) ? { categories: ['all'] } : {}),
    };
    const extra = (subresources[type.kind] ?? []).map((name) => ({
      name: `${type.plural}/${name}`,
      singularName: '',
      namespaced: true,
      kind: type.kind,
      verbs: ['get'],
    }));
    return [main, ...extra];
  });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName ? `${groupName}/${version}` : version,
    resources,
  };
}
