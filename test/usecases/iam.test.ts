import { describe, expect, it } from 'vitest';
import type { Caller } from '../../shared/auth/caller.ts';
import type { RoleName } from '../../shared/auth/roles.ts';
import { createProject } from '../../shared/catalog/projects.ts';
import { Forbidden, NotFound } from '../../shared/errors.ts';
import { createBinding } from '../../shared/iam/bindings.ts';
import { addMember, createTeam, removeMember } from '../../shared/iam/teams.ts';
import { me } from '../../shared/iam/users.ts';
import { admin, failure, nothingElse, person, unique } from './callers.ts';

/** Identity rules where they live: bindings, escalation, grants through teams. */
const root = admin();
const project = () => createProject(root, { name: unique('shop') }, nothingElse);
const projectScope = (project_id: string) => ({ kind: 'project' as const, project_id });

async function signedIn() {
  const someone = person(unique('user'));
  await me(someone);
  return someone;
}

/** `by` binds `role` on project `projectId` to the user `to`. */
const bindUser = (by: Caller, role: RoleName, to: Caller, projectId: string) =>
  createBinding(by, { role, subject: { kind: 'user', id: to.sub }, scope: projectScope(projectId) }, nothingElse);

describe('role bindings', () => {
  it('lets nobody grant more than they hold: a maintainer cannot make an admin (Forbidden)', async () => {
    const p = await project();
    const [maintainer, friend] = [await signedIn(), await signedIn()];
    await bindUser(root, 'maintainer', maintainer, p.id);
    expect(await failure(bindUser(maintainer, 'admin', friend, p.id))).toBeInstanceOf(Forbidden);
    expect((await me(friend)).grants).toEqual([]);
  });

  it('hides another project from a binder who cannot read it (NotFound)', async () => {
    const [mine, theirs] = [await project(), await project()];
    const [maintainer, friend] = [await signedIn(), await signedIn()];
    await bindUser(root, 'admin', maintainer, mine.id);
    expect(await failure(bindUser(maintainer, 'viewer', friend, theirs.id))).toBeInstanceOf(NotFound);
  });
});

describe('teams', () => {
  it("gives a member the team's grants on joining and takes them on leaving", async () => {
    const p = await project();
    const team = await createTeam(root, { name: unique('payments') }, nothingElse);
    await createBinding(
      root,
      { role: 'developer', subject: { kind: 'team', id: team.id }, scope: projectScope(p.id) },
      nothingElse,
    );
    const member = await signedIn();
    await addMember(root, team.id, member.sub);
    expect((await me(member)).grants).toEqual([
      expect.objectContaining({ role: 'developer', scope: `project/${p.id}`, via: team.id }),
    ]);
    await removeMember(root, team.id, member.sub);
    expect((await me(member)).grants).toEqual([]);
  });
});
