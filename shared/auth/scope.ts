/**
 * Scopes nest: platform ⊃ project ⊃ app ⊃ env. A scope is written as a path
 * (`project/p1/app/a1/env/prod`), so "this grant covers that object" is a prefix test.
 */

export const PLATFORM = 'platform';

export type ScopePath = string;

export const projectScope = (projectId: string): ScopePath => `project/${projectId}`;
export const appScope = (projectId: string, appId: string): ScopePath => `project/${projectId}/app/${appId}`;
export const envScope = (projectId: string, appId: string, env: string): ScopePath =>
  `project/${projectId}/app/${appId}/env/${env}`;

/** True when a grant on `grantScope` applies to an object in `target`. */
export const covers = (grantScope: ScopePath, target: ScopePath): boolean =>
  grantScope === PLATFORM || target === grantScope || target.startsWith(`${grantScope}/`);

/** The project a scope path lies in, if any. */
export const projectOf = (scope: ScopePath): string | undefined => /^project\/([^/]+)/.exec(scope)?.[1];
