import { forbidden, notFound } from '../errors.ts';
import { type Permission, ROLES, type RoleName, roleAllows } from './roles.ts';
import { covers, PLATFORM, projectOf, projectScope, type ScopePath } from './scope.ts';

/** One role on one scope, as materialized on the user record (direct or through a team). */
export interface Grant {
  role: RoleName;
  scope: ScopePath;
  /** Team id when the grant comes from a team binding. */
  via?: string;
}

/**
 * What the caller may do: their grants, plus platform admin when their token carries one of the
 * configured admin groups (the bootstrap path: someone must be able to create the first binding).
 */
export class Access {
  readonly grants: readonly Grant[];

  constructor(grants: readonly Grant[]) {
    this.grants = grants;
  }

  can(permission: Permission, target: ScopePath): boolean {
    return this.grants.some((g) => covers(g.scope, target) && roleAllows(g.role, permission));
  }

  /** For platform-wide objects that any member may read (clusters): a grant anywhere suffices. */
  canAnywhere(permission: Permission): boolean {
    return this.grants.some((g) => roleAllows(g.role, permission));
  }

  /**
   * Refuses without revealing existence: a caller who cannot even read the object gets the
   * same 404 as for a missing one (as GitHub does); one who can read it gets 403.
   */
  require(permission: Permission, target: ScopePath, readPermission: Permission, what: string): void {
    if (this.can(permission, target)) return;
    if (!this.can(readPermission, target)) throw notFound(what);
    throw forbidden(`You need the ${permission} permission on ${target}.`);
  }

  requireOn(permission: Permission, target: ScopePath): void {
    if (!this.can(permission, target)) throw forbidden(`You need the ${permission} permission on ${target}.`);
  }

  /** The scopes where the caller holds `permission` (directly or through a team): what a cross-scope list may show. */
  scopesAllowing(permission: Permission): ScopePath[] {
    return this.grants.filter((g) => roleAllows(g.role, permission)).map((g) => g.scope);
  }

  /**
   * Projects the caller may read (project.read on the project itself), for listing without
   * platform-wide read: a grant on one app or environment inside a project does not show the project.
   */
  readableProjects(): string[] {
    const ids = new Set<string>();
    for (const g of this.grants) {
      const id = projectOf(g.scope);
      if (id && this.can('project.read', projectScope(id))) ids.add(id);
    }
    return [...ids].sort();
  }

  /** No escalation: you may hand out a role on a scope only if you hold all it grants there. */
  mayGrant(role: RoleName, target: ScopePath): boolean {
    return this.can('iam.manage', target) && ROLES[role].permissions.every((p) => this.can(p, target));
  }
}

export const platformAdmin: Grant = { role: 'admin', scope: PLATFORM, via: 'admin-group' };
