import type { Key } from './table.ts';

/**
 * Where each kind of record lives in the one table. Each record sits under its own id
 * (`PROJECT#<id>`), is listed by kind on GSI1 and, when it has a parent, by parent on GSI2.
 * Environments live in their application's partition, so an app's envs are one Query.
 */
export const keys = {
  project: (id: string): Key => ({ PK: `PROJECT#${id}`, SK: 'PROJECT' }),
  projectName: (name: string): Key => ({ PK: `PROJECT_NAME#${name}`, SK: 'NAME' }),
  app: (id: string): Key => ({ PK: `APP#${id}`, SK: 'APP' }),
  appName: (projectId: string, name: string): Key => ({ PK: `APP_NAME#${projectId}#${name}`, SK: 'NAME' }),
  env: (appId: string, name: string): Key => ({ PK: `APP#${appId}`, SK: `ENV#${name}` }),
  cluster: (id: string): Key => ({ PK: `CLUSTER#${id}`, SK: 'CLUSTER' }),
  clusterName: (name: string): Key => ({ PK: `CLUSTER_NAME#${name}`, SK: 'NAME' }),
  user: (sub: string): Key => ({ PK: `USER#${sub}`, SK: 'USER' }),
  team: (id: string): Key => ({ PK: `TEAM#${id}`, SK: 'TEAM' }),
  teamName: (name: string): Key => ({ PK: `TEAM_NAME#${name}`, SK: 'NAME' }),
  teamMember: (teamId: string, sub: string): Key => ({ PK: `TEAM#${teamId}`, SK: `MEMBER#${sub}` }),
  binding: (id: string): Key => ({ PK: `BINDING#${id}`, SK: 'BINDING' }),
  /** The project owning a namespace of a cluster (ADR 12), and one record per app of it using it. */
  namespaceClaim: (clusterId: string, namespace: string): Key => ({
    PK: `NAMESPACE#${clusterId}#${namespace}`,
    SK: 'CLAIM',
  }),
  namespaceUser: (clusterId: string, namespace: string, appId: string): Key => ({
    PK: `NAMESPACE#${clusterId}#${namespace}`,
    SK: `APP#${appId}`,
  }),
};

/** GSI1 partitions: every record of a kind. */
export const byKind = {
  project: 'KIND#project',
  app: 'KIND#app',
  /** Every environment, sorted `<project>#<app>#<name>` (envListing): a project or an app is a prefix. */
  env: 'KIND#env',
  cluster: 'KIND#cluster',
  user: 'KIND#user',
  team: 'KIND#team',
  binding: 'KIND#binding',
  /** Every audit chain's head, by subject: what a checkpoint lists (shared/audit/keys.ts). */
  auditChain: 'KIND#audit-chain',
} as const;

/** GSI2 partitions: the children of one parent. */
export const byParent = {
  appsOfProject: (projectId: string) => `PROJECT#${projectId}#apps`,
  /** The environments placed on a cluster, sorted as on GSI1 (envListing). */
  envsOfCluster: (clusterId: string) => `CLUSTER#${clusterId}#envs`,
  bindingsOfSubject: (kind: 'user' | 'team', id: string) => `SUBJECT#${kind}#${id}`,
};

/**
 * An environment's sort key on both indexes: project, app, name. Ids and DNS labels hold no `#`,
 * so the environments of a project (`<project>#`) or of an app (`<project>#<app>#`) are a prefix.
 */
export const envListing = (projectId: string, appId: string, name?: string) =>
  name === undefined ? `${projectId}#${appId}#` : `${projectId}#${appId}#${name}`;

/** One binding per (subject, role, scope): a repeat is a 409, not a second copy. */
export const bindingClaim = (subject: string, role: string, scope: string): Key => ({
  PK: `BINDING_OF#${subject}`,
  SK: `${role}#${scope}`,
});
