/**
 * Built-in roles. A role is a set of permissions; a binding gives a role to a user or team on a
 * scope. The sets nest (viewer ⊂ developer ⊂ maintainer ⊂ admin; approver = viewer + approvals)
 * so that "who may do what" reads from this one table.
 */

export const PERMISSIONS = [
  'project.read',
  'project.create',
  'project.update',
  'project.delete',
  'app.read',
  'app.create',
  'app.update',
  'app.delete',
  'env.read',
  'env.create',
  'env.update',
  'env.delete',
  'cluster.read',
  'cluster.create',
  'cluster.update',
  'cluster.delete',
  'iam.read',
  'iam.manage',
  'deployment.create',
  'rollback.create',
  'build.read',
  'build.run',
  'pipeline.read',
  'pipeline.write',
  'pipeline.run',
  'approval.decide',
  /** See an app's Git webhook endpoints and their delivery logs. */
  'webhook.read',
  /** Create, delete and rotate them (their secrets are shown once). */
  'webhook.manage',
  /** Replay a stored delivery (admins on the app only: it starts runs as the endpoint's creator). */
  'webhook.replay',
  /** See schedules and their fire history. */
  'schedule.read',
  /** Create, change and delete schedules (each also needs the permission of its action there). */
  'schedule.manage',
  'audit.read',
  /** See a project's chat channels (platform, host, filters; never their URL or secret). */
  'channel.read',
  /** Create, change, delete and test them. */
  'channel.manage',
  /** Read the DORA metrics of a project, app or environment. */
  'metrics.read',
  /** Take an audit checkpoint now (only admins on the platform: checkpoints are platform-wide). */
  'audit.checkpoint',
  /** See freeze windows (those on the platform: anyone with a binding). */
  'freeze.read',
  /** Create, change and delete freezes on a scope (`platform`: on the platform). */
  'freeze.manage',
  /** Deploy through a freeze, or change or delete one in force (admins only; always audited). */
  'freeze.override',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_NAMES = ['viewer', 'developer', 'maintainer', 'approver', 'admin'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

const viewer: Permission[] = [
  'project.read',
  'app.read',
  'env.read',
  'cluster.read',
  'iam.read',
  'build.read',
  'pipeline.read',
  'webhook.read',
  'metrics.read',
  'schedule.read',
  'freeze.read',
  'channel.read',
];
const developer: Permission[] = [
  ...viewer,
  'app.update',
  'deployment.create',
  'rollback.create',
  'build.run',
  'pipeline.run',
  'schedule.manage',
];
const maintainer: Permission[] = [
  ...developer,
  'project.update',
  'app.create',
  'app.delete',
  'env.create',
  'env.update',
  'env.delete',
  'pipeline.write',
  'webhook.manage',
  'channel.manage',
  'iam.manage',
  'audit.read',
  'freeze.manage',
];
const approver: Permission[] = [...viewer, 'approval.decide'];
const admin: Permission[] = [...PERMISSIONS];

export interface Role {
  name: RoleName;
  description: string;
  permissions: readonly Permission[];
}

export const ROLES: Readonly<Record<RoleName, Role>> = {
  viewer: { name: 'viewer', description: 'Reads everything in its scope.', permissions: viewer },
  developer: {
    name: 'developer',
    description:
      'Viewer, plus changes application settings, starts builds, deployments and rollbacks, and schedules them.',
    permissions: developer,
  },
  maintainer: {
    name: 'maintainer',
    description:
      'Developer, plus manages applications, environments, pipelines, Git webhooks, freezes, chat channels and role bindings in its scope, and reads its audit log.',
    permissions: maintainer,
  },
  approver: {
    name: 'approver',
    description: 'Viewer, plus approves or rejects deployments to protected environments.',
    permissions: approver,
  },
  admin: { name: 'admin', description: 'Every permission in its scope.', permissions: admin },
};

export const roleAllows = (role: RoleName, permission: Permission): boolean =>
  ROLES[role].permissions.includes(permission);
