/**
 * Identity links: a chat user acts only as the Slipway user they proved to be. The Slipway user
 * asks for a one-time code (valid ten minutes, stored hashed); sending it from the chat app proves
 * the chat side, and the link (platform, tenant, chat user) is stored on the Slipway user.
 */
import { createHash, randomInt } from 'node:crypto';
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { PLATFORM } from '../auth/scope.ts';
import { conflict, notFound, unprocessable } from '../errors.ts';
import type { ChangeEventData } from '../events/catalog.ts';
import { type Actor, recordChange } from '../events/outbox.ts';
import type { ChatKind } from '../notify/channels.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { commit, getMany, type Item, queryAll, queryPage, type Write } from '../store/table.ts';
import { chatIndexes, chatKeys, LINK_CODE_TTL_SECONDS } from './keys.ts';

/** Who someone is on a chat platform: the workspace or tenant (Slack team, Feishu tenant_key, DingTalk corpId, WeCom CorpID) and their user id there. */
export interface ChatIdentity {
  platform: ChatKind;
  tenant: string;
  user: string;
}

export interface ChatLinkView extends ChatIdentity {
  id: string;
  sub: string;
  linked_at: string;
}

export interface LinkCode {
  code: string;
  expires_at: string;
}

/** Crockford's base32 without I, L, O, U: nothing to misread when typing it into a chat. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 10;

export const linkIdOf = ({ platform, tenant, user }: ChatIdentity) =>
  `lnk_${createHash('sha256').update(`${platform}#${tenant}#${user}`).digest('hex').slice(0, 26)}`;

const codeHash = (code: string) => createHash('sha256').update(code.toUpperCase()).digest('hex');

/** `POST /users/me/chat-links`: a fresh one-time code for the caller. */
export async function createLinkCode(caller: Caller, now = Date.now()): Promise<LinkCode> {
  await signInAndRead(caller);
  const code = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
  const expiresAt = Math.floor(now / 1000) + LINK_CODE_TTL_SECONDS;
  await commit([
    {
      put: { ...chatKeys.linkCode(codeHash(code)), sub: caller.sub, expiresAt },
      condition: 'attribute_not_exists(PK)',
      onFail: () => conflict('link-code-collision', 'Ask for another code.'),
    },
  ]);
  return { code, expires_at: new Date(expiresAt * 1000).toISOString() };
}

/**
 * The code sent from chat: links that chat identity to the code's user and spends the code, in one
 * transaction. A wrong, expired or spent code gets the same refusal (nothing to guess from).
 */
export async function redeemLinkCode(identity: ChatIdentity, code: string, requestId?: string): Promise<ChatLinkView> {
  const refused = () => unprocessable('invalid-link-code', 'This link code is wrong, expired or already used.');
  if (!/^[0-9A-Za-z]{1,32}$/.test(code)) throw refused();
  const key = chatKeys.linkCode(codeHash(code));
  const [found] = await getMany([key]);
  const now = Math.floor(Date.now() / 1000);
  // DynamoDB deletes expired items lazily: the expiry is checked here and in the condition.
  if (!found || (found.expiresAt as number) <= now) throw refused();
  const link: ChatLinkView = {
    id: linkIdOf(identity),
    ...identity,
    sub: found.sub as string,
    linked_at: new Date().toISOString(),
  };
  await commit([
    {
      delete: key,
      condition: 'attribute_exists(PK) AND expiresAt > :now',
      values: { ':now': now },
      onFail: refused,
    },
    {
      // A chat identity links to one Slipway user: linking it again moves it.
      put: {
        ...chatKeys.link(identity.platform, identity.tenant, identity.user),
        GSI2PK: chatIndexes.linksOfUser(link.sub),
        GSI2SK: `${identity.platform}#${identity.tenant}#${identity.user}`,
        ...link,
      },
      onFail: () => conflict('link-changed', 'The link changed meanwhile; send the code again.'),
    },
    linkChange({ sub: link.sub, requestId }, 'Chat Link Created', link),
  ]);
  return link;
}

/** The Slipway user a chat identity is linked to, if any. */
export async function linkedUser(identity: ChatIdentity): Promise<string | undefined> {
  const [link] = await getMany([chatKeys.link(identity.platform, identity.tenant, identity.user)]);
  return link?.sub as string | undefined;
}

/** `GET /users/me/chat-links` */
export async function listLinks(caller: Caller, page: PageRequest): Promise<Page<ChatLinkView>> {
  await signInAndRead(caller);
  const result = await queryPage({ index: 'GSI2', partition: chatIndexes.linksOfUser(caller.sub), page });
  return { items: result.items.map(linkView), next_cursor: result.next_cursor };
}

/**
 * `DELETE /users/me/chat-links/{link}` (the caller's own) and `DELETE /users/{sub}/chat-links/{link}`
 * (a platform admin removing anyone's).
 */
export async function removeLink(caller: Caller, sub: string, linkId: string): Promise<void> {
  const { access } = await signInAndRead(caller);
  if (sub !== caller.sub) access.requireOn('iam.manage', PLATFORM);
  // A user has a handful of links: reading them all finds the one by id without another index.
  const links = await queryAll({ index: 'GSI2', partition: chatIndexes.linksOfUser(sub) });
  const item = links.find((l) => l.id === linkId);
  if (!item) throw notFound('Chat link');
  const link = linkView(item);
  await commit([
    {
      delete: chatKeys.link(link.platform, link.tenant, link.user),
      condition: '#sub = :sub',
      names: { '#sub': 'sub' },
      values: { ':sub': sub },
      onFail: () => notFound('Chat link'),
    },
    linkChange(caller, 'Chat Link Removed', link),
  ]);
}

const linkView = (item: Item): ChatLinkView => {
  const { id, platform, tenant, user, sub, linked_at } = item as ChatLinkView;
  return { id, platform, tenant, user, sub, linked_at };
};

const linkChange = (
  actor: Actor,
  type: 'Chat Link Created' | 'Chat Link Removed',
  data: ChangeEventData<'Chat Link Created'>,
): Write => recordChange(actor, { type, subject: `user/${data.sub}`, data });
