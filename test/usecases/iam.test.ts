import { describe, expect, it } from 'vitest';
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

describe('role bindings', () => {
  it('lets nobody grant more than they hold: a maintainer cannot make an admin (Forbidden)', async () => {
    const p = await project();
    const maintainer = await signedIn();
    const friend = await signedIn();
    await createBinding(
      root,
      { role: 'maintainer', subject: { kind: 'user', id: maintainer.sub }, scope: projectScope(p.id) },
      nothingElse,
    );
    const escalation = await failure(
      createBinding(
        maintainer,
        { role: 'admin', subject: { kind: 'user', id: friend.sub }, scope: projectScope(p.id) },
        nothingElse,
      ),
    );
    expect(escalation).toBeInstanceOf(Forbidden);
    expect((await me(friend)).grants).toEqual([]);
  });

  it('hides another project from a binder who cannot read it (NotFound)', async () => {
    const mine = await project();
    const theirs = await project();
    const maintainer = await signedIn();
    const friend = await signedIn();
    await createBinding(
      root,
      { role: 'admin', subject: { kind: 'user', id: maintainer.sub }, scope: projectScope(mine.id) },
      nothingElse,
    );
    const refused = await failure(
      createBinding(
        maintainer,
        { role: 'viewer', subject: { kind: 'user', id: friend.sub }, scope: projectScope(theirs.id) },
        nothingElse,
      ),
    );
    expect(refused).toBeInstanceOf(NotFound);
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
