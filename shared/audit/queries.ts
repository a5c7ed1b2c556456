import type { Access } from '../auth/access.ts';
import type { Caller } from '../auth/caller.ts';
// The audit function may only read the table (manifest): readAccessOnly registers and syncs nobody.
import { readAccessOnly } from '../auth/principal.ts';
import { PLATFORM, projectScope } from '../auth/scope.ts';
import { invalid, notFound } from '../errors.ts';
import { ID_PATTERN } from '../store/ids.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { present } from '../store/records.ts';
import { type Item, query, queryPage } from '../store/table.ts';
import { type AuditEntry, type ChainVerdict, verifyChain } from './chain.ts';
import { auditByActor, auditKeys, auditOfProject, chainOf, ENTRY_PREFIX } from './keys.ts';

/** Whose history to list: one subject's chain, one actor's changes, or one project's. */
export type AuditFilter = { subject: string } | { actor: string } | { project_id: string };

export type ChainReport = { subject: string; entries: number } & ChainVerdict;

const FILTERS = ['subject', 'actor', 'project_id'] as const;
const what = 'Audit log';

/** Exactly one of `subject`, `actor`, `project_id`: each is its own index, never a scan. */
export function auditFilter(query: Record<string, string | undefined>): AuditFilter {
  const given = FILTERS.filter((name) => query[name] !== undefined);
  if (given.length !== 1) {
    throw invalid('Give exactly one of subject, actor or project_id.', [
      { name: given.length ? given.join(',') : 'subject', reason: 'exactly one of subject, actor, project_id' },
    ]);
  }
  const name = given[0] as (typeof FILTERS)[number];
  const value = query[name] as string;
  const valid =
    name === 'subject'
      ? /^[a-z]+\/.{1,600}$/.test(value)
      : name === 'actor'
        ? value.length <= 256
        : ID_PATTERN.test(value);
  if (!valid || value.length === 0) throw invalid(`${name} is not valid.`, [{ name, reason: 'malformed' }]);
  return { [name]: value } as AuditFilter;
}

export function subjectParam(query: Record<string, string | undefined>): string {
  const filter = auditFilter(query);
  if (!('subject' in filter))
    throw invalid('Verify one subject’s chain: give subject.', [{ name: 'subject', reason: 'required' }]);
  return filter.subject;
}

/** Newest first. A subject's chain and a project's history need audit.read on its project; an actor's, on the platform. */
export async function listAuditEntries(
  caller: Caller,
  filter: AuditFilter,
  page: PageRequest,
): Promise<Page<AuditEntry>> {
  let result: Page<Item>;
  if ('subject' in filter) {
    await readChainHead(caller, filter.subject);
    result = await queryPage({ partition: chainOf(filter.subject), prefix: ENTRY_PREFIX, page, newestFirst: true });
  } else if ('project_id' in filter) {
    const { access } = await readAccessOnly(caller);
    access.require('audit.read', projectScope(filter.project_id), 'project.read', 'Project');
    result = await queryPage({ index: 'GSI1', partition: auditOfProject(filter.project_id), page, newestFirst: true });
  } else {
    const { access } = await readAccessOnly(caller);
    access.requireOn('audit.read', PLATFORM);
    result = await queryPage({ index: 'GSI2', partition: auditByActor(filter.actor), page, newestFirst: true });
  }
  return { items: result.items.map((i) => present<AuditEntry>(i)), next_cursor: result.next_cursor };
}

/** Recomputes a subject's whole chain from its stored entries, against its head. */
export async function verifyAuditChain(caller: Caller, subject: string): Promise<ChainReport> {
  const head = await readChainHead(caller, subject);
  const entries = await readWholeChain(subject);
  const verdict = verifyChain(entries, { seq: head.seq as number, hash: head.hash as string });
  return { subject, entries: entries.length, ...verdict };
}

/** The head says which project the subject belongs to, so it decides who may read the chain. */
async function readChainHead(caller: Caller, subject: string): Promise<Item> {
  const { access, items } = await readAccessOnly(caller, [auditKeys.head(subject)]);
  const head = items[0];
  if (!head) throw notFound(what);
  requireAuditRead(access, head.project_id as string | null);
  return head;
}

/** Not allowed but able to read the project (or platform): 403; otherwise 404, as for any hidden object. */
function requireAuditRead(access: Access, projectId: string | null): void {
  access.require('audit.read', projectId ? projectScope(projectId) : PLATFORM, 'project.read', what);
}

async function readWholeChain(subject: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let after: Item | undefined;
  do {
    const page = await query({ partition: chainOf(subject), prefix: ENTRY_PREFIX, limit: 1000, startAfter: after });
    entries.push(...page.items.map((i) => present<AuditEntry>(i)));
    after = page.lastKey;
  } while (after);
  return entries;
}
