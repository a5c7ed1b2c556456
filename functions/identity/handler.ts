import { ROLES } from '../../shared/auth/roles.ts';
import { createLinkCode, listLinks, removeLink } from '../../shared/chat/links.ts';
import { newBinding, newTeam, userId } from '../../shared/domain/identity.ts';
import { validate } from '../../shared/domain/validate.ts';
import { invalid } from '../../shared/errors.ts';
import { api } from '../../shared/http/api.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId, pathSubject } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';
import { type BindingView, createBinding, deleteBinding, listBindings } from '../../shared/iam/bindings.ts';
import {
  addMember,
  createTeam,
  deleteTeam,
  getTeam,
  listMembers,
  listTeams,
  removeMember,
  type TeamView,
} from '../../shared/iam/teams.ts';
import { listUsers, me } from '../../shared/iam/users.ts';

const v1 = '/api/v1';
const teamCreated = (team: TeamView) => created(team, `${v1}/teams/${team.id}`);
const bindingCreated = (binding: BindingView) => created(binding, `${v1}/bindings/${binding.id}`);
const teamId = (id: string | undefined) => pathId(id, 'team', 'Team');
const linkId = (id: string | undefined) => pathId(id, 'lnk', 'Chat link');
const linkAdvice = ({ code, expires_at }: { code: string; expires_at: string }) => ({
  code,
  expires_at,
  how: `Send "/slipway link ${code}" to the Slipway app in your chat (or "link ${code}" as a direct message) before ${expires_at}.`,
});

/** `subject=user:alice` or `subject=team:team_...` */
function subjectFilter(value: string | undefined) {
  if (value === undefined) return undefined;
  const match = /^(user|team):(.+)$/.exec(value);
  const parsed =
    match &&
    (match[1] === 'team'
      ? { kind: 'team' as const, id: teamId(match[2]) }
      : { kind: 'user' as const, id: validate(userId, match[2], 'subject') });
  if (!parsed) throw invalid('subject must be user:<id> or team:<id>.', [{ name: 'subject', reason: 'invalid' }]);
  return parsed;
}

export const handler = api({
  [`GET ${v1}/users`]: async (req) => json(200, await listUsers(req.caller, parsePageRequest(req.query))),
  [`GET ${v1}/users/me`]: async (req) => json(200, await me(req.caller)),
  [`POST ${v1}/users/me/chat-links`]: async (req) => {
    const code = await createLinkCode(req.caller);
    // The code is shown once: an Idempotency-Key replay gets the expiry, not the code.
    return { ...json(200, linkAdvice(code)), stored: json(200, { expires_at: code.expires_at }) };
  },
  [`GET ${v1}/users/me/chat-links`]: async (req) => json(200, await listLinks(req.caller, parsePageRequest(req.query))),
  [`DELETE ${v1}/users/me/chat-links/{link}`]: async (req) => {
    await removeLink(req.caller, req.caller.sub, linkId(req.params.link));
    return noContent();
  },
  [`DELETE ${v1}/users/{sub}/chat-links/{link}`]: async (req) => {
    await removeLink(req.caller, pathSubject(req.params.sub, 'User'), linkId(req.params.link));
    return noContent();
  },

  [`GET ${v1}/teams`]: async (req) => json(200, await listTeams(req.caller, parsePageRequest(req.query))),
  [`POST ${v1}/teams`]: async (req) =>
    teamCreated(await createTeam(req.caller, req.body(newTeam), req.alsoCommit(teamCreated))),
  [`GET ${v1}/teams/{id}`]: async (req) => resource(200, await getTeam(req.caller, teamId(req.params.id))),
  [`DELETE ${v1}/teams/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    await deleteTeam(req.caller, teamId(req.params.id), expected);
    return noContent();
  },

  [`GET ${v1}/teams/{id}/members`]: async (req) =>
    json(200, await listMembers(req.caller, teamId(req.params.id), parsePageRequest(req.query))),
  [`PUT ${v1}/teams/{id}/members/{userId}`]: async (req) => {
    const { member, added } = await addMember(
      req.caller,
      teamId(req.params.id),
      pathSubject(req.params.userId, 'User'),
    );
    return json(added ? 201 : 200, member);
  },
  [`DELETE ${v1}/teams/{id}/members/{userId}`]: async (req) => {
    await removeMember(req.caller, teamId(req.params.id), pathSubject(req.params.userId, 'Member'));
    return noContent();
  },

  [`GET ${v1}/roles`]: async () => json(200, { items: Object.values(ROLES), next_cursor: null }),
  [`GET ${v1}/bindings`]: async (req) =>
    json(200, await listBindings(req.caller, subjectFilter(req.query.subject), parsePageRequest(req.query))),
  [`POST ${v1}/roles/bind`]: async (req) =>
    bindingCreated(await createBinding(req.caller, req.body(newBinding), req.alsoCommit(bindingCreated))),
  [`DELETE ${v1}/bindings/{id}`]: async (req) => {
    await deleteBinding(req.caller, pathId(req.params.id, 'bnd', 'Binding'));
    return noContent();
  },
});
