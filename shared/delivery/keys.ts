import type { Key } from '../store/table.ts';

/**
 * Where delivery records live. A deployment sits under its own id and is listed by environment
 * (GSI1) and by application (GSI2), newest first (ids are ULIDs). An environment's releases share
 * one partition, with a head item that holds the current and last revision numbers.
 */
export const deliveryKeys = {
  deployment: (id: string): Key => ({ PK: `DEPLOYMENT#${id}`, SK: 'DEPLOYMENT' }),
  approval: (id: string): Key => ({ PK: `APPROVAL#${id}`, SK: 'APPROVAL' }),
  releaseHead: (appId: string, env: string): Key => ({ PK: `RELEASES#${appId}#${env}`, SK: 'HEAD' }),
  release: (appId: string, env: string, revision: number): Key => ({
    PK: `RELEASES#${appId}#${env}`,
    SK: `REV#${String(revision).padStart(10, '0')}`,
  }),
};

export const deliveryIndexes = {
  /** GSI1: the deployments of one environment. */
  deploymentsOfEnv: (appId: string, env: string) => `ENV_DEPLOYMENTS#${appId}#${env}`,
  /** GSI2: the deployments of one application. */
  deploymentsOfApp: (appId: string) => `APP_DEPLOYMENTS#${appId}`,
  /** GSI1: approvals by state (pending, approved, rejected, expired). */
  approvalsInState: (state: string) => `APPROVALS#${state}`,
};
