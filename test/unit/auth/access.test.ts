import { describe, expect, it } from 'vitest';
import { Access } from '../../../shared/auth/access.ts';
import { PERMISSIONS, ROLE_NAMES, ROLES } from '../../../shared/auth/roles.ts';
import { appScope, covers, envScope, PLATFORM, projectScope } from '../../../shared/auth/scope.ts';
import { problemOf } from '../problem-of.ts';

describe('scopes nest platform > project > app > env', () => {
  const env = envScope('p1', 'a1', 'prod');
  it.each([
    [PLATFORM, env, true],
    [projectScope('p1'), env, true],
    [appScope('p1', 'a1'), env, true],
    [env, env, true],
    [projectScope('p2'), env, false],
    [appScope('p1', 'a2'), env, false],
    [envScope('p1', 'a1', 'dev'), env, false],
    // a prefix of the id is not a parent scope
    [projectScope('p'), projectScope('p1'), false],
    [env, appScope('p1', 'a1'), false],
  ])('%s covers %s: %s', (grant, target, expected) => {
    expect(covers(grant, target)).toBe(expected);
  });
});

describe('roles', () => {
  it('nest: every viewer permission is a developer permission, and so on up to admin', () => {
    const chain = ['viewer', 'developer', 'maintainer', 'admin'] as const;
    for (let i = 1; i < chain.length; i++) {
      const lower = ROLES[chain[i - 1] as (typeof chain)[number]].permissions;
      const upper = ROLES[chain[i] as (typeof chain)[number]].permissions;
      expect(lower.filter((p) => !upper.includes(p))).toEqual([]);
      expect(upper.length).toBeGreaterThan(lower.length);
    }
  });

  it('admin holds every permission and approver is viewer plus approval', () => {
    expect([...ROLES.admin.permissions].sort()).toEqual([...PERMISSIONS].sort());
    expect(ROLES.approver.permissions.filter((p) => !ROLES.viewer.permissions.includes(p))).toEqual([
      'approval.decide',
    ]);
  });
});

describe('Access', () => {
  const maintainerOfP1 = new Access([{ role: 'maintainer', scope: projectScope('p1') }]);

  it('applies a grant to objects inside its scope only', () => {
    expect(maintainerOfP1.can('app.create', projectScope('p1'))).toBe(true);
    expect(maintainerOfP1.can('env.update', envScope('p1', 'a1', 'prod'))).toBe(true);
    expect(maintainerOfP1.can('app.read', projectScope('p2'))).toBe(false);
    expect(maintainerOfP1.can('project.delete', projectScope('p1'))).toBe(false);
  });

  it('answers 404 to a caller who cannot read, 403 to one who can read but not act', () => {
    expect(
      problemOf(() => maintainerOfP1.require('project.delete', projectScope('p2'), 'project.read', 'Project'))?.status,
    ).toBe(404);
    expect(
      problemOf(() => maintainerOfP1.require('project.delete', projectScope('p1'), 'project.read', 'Project'))?.status,
    ).toBe(403);
  });

  it('never lets a caller grant a role they do not fully hold on that scope', () => {
    for (const role of ROLE_NAMES) {
      const mayGrant = maintainerOfP1.mayGrant(role, projectScope('p1'));
      const holdsAll = ROLES[role].permissions.every((p) => ROLES.maintainer.permissions.includes(p));
      expect(mayGrant, role).toBe(holdsAll);
      expect(maintainerOfP1.mayGrant(role, projectScope('p2')), role).toBe(false);
    }
  });

  it('lists the projects a caller may read, not those it only holds an app or environment grant in', () => {
    const access = new Access([
      { role: 'viewer', scope: projectScope('c') },
      { role: 'developer', scope: appScope('a', 'x') },
      { role: 'developer', scope: appScope('c', 'y') },
      { role: 'viewer', scope: projectScope('b') },
    ]);
    expect(access.readableProjects()).toEqual(['b', 'c']);
    for (const id of ['a', 'b', 'c']) expect(access.can('project.read', projectScope(id)), id).toBe(id !== 'a');
  });
});
