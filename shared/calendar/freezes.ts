/**
 * The freezes API: windows during which a scope takes no deploys (shared/domain/freeze.ts). Each
 * freeze is its own record, listed by scope; what the freeze check needs of every freeze that is
 * not over is copied into one rules item in the same transaction as each write, so a deploy reads
 * them with its own BatchGetItem (ADR 25). A freeze in force is changed or deleted only with
 * freeze.override, and that is told as an override.
 */
import type { Access } from '../auth/access.ts';
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope, envScope, PLATFORM, projectOf, projectScope, type ScopePath } from '../auth/scope.ts';
import { changedFields } from '../catalog/changes.ts';
import {
  type FreezeRule,
  type FreezeScope,
  type FreezeView,
  freezeChanges,
  intervalAt,
  isOver,
  type NewFreeze,
  nextInterval,
} from '../domain/freeze.ts';
import { mergePatch, pick } from '../domain/merge-patch.ts';
import { validate } from '../domain/validate.ts';
import { busy, forbidden, invalid, notFound, unprocessable } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { createRecord, deleteRecord, present, replaceRecord, stamp } from '../store/records.ts';
import { type AlsoCommit, commit, type Item, type Key, queryPage, type Write } from '../store/table.ts';
import { calendarIndexes, calendarKeys } from './keys.ts';

const what = 'Freeze';
const CHANGEABLE = Object.keys(freezeChanges.shape);

/**
 * At most this many freezes that are not over, platform-wide: each rule is a few hundred bytes, so
 * the rules item every deploy reads stays near 100 KB at worst (DynamoDB's item limit is 400 KB).
 */
export const MAX_FREEZE_RULES = 250;

/** `GET /freezes?scope=`: freezes set on that scope or inside it; without one, every freeze the caller may read. */
export async function listFreezes(
  caller: Caller,
  scope: string | undefined,
  page: PageRequest,
): Promise<Page<FreezeView>> {
  const { access } = await signInAndRead(caller);
  const inside = scope !== undefined && scope !== PLATFORM;
  if (inside) {
    if (!SCOPE_PATH.test(scope))
      throw invalid('scope must be a scope path.', [{ name: 'scope', reason: 'not a scope path' }]);
    if (!access.can('freeze.read', scope)) throw notFound('Scope');
  }
  const result = await queryPage({
    index: 'GSI1',
    partition: calendarIndexes.freezes,
    ...(inside ? { prefix: `${scope}/` } : {}),
    page,
  });
  // Across scopes, a page shows what the caller may read of it (a page may come out short).
  const items = result.items.filter((i) => mayRead(access, i.scope as string));
  const now = new Date();
  return { items: items.map((i) => freezeView(i, now)), next_cursor: result.next_cursor };
}

export async function getFreeze(caller: Caller, id: string): Promise<FreezeView> {
  return freezeView((await readFreeze(caller, id, 'freeze.read')).freeze, new Date());
}

export async function createFreeze(
  caller: Caller,
  input: NewFreeze,
  alsoCommit: AlsoCommit<FreezeView>,
): Promise<FreezeView> {
  const { scope: place, ...fields } = input;
  const targetKeys = scopeKeys(place);
  const { access, items } = await signInAndRead(caller, [calendarKeys.freezeRules(), ...targetKeys]);
  const [rules, ...targets] = items;
  const scope = resolveScope(access, place, targets);
  const id = newId('frz');
  const item: Item = {
    ...calendarKeys.freeze(id),
    GSI1PK: calendarIndexes.freezes,
    GSI1SK: `${scope}/#${id}`,
    ...stamp(id, caller, { scope, ...fields, allow_rollbacks: fields.allow_rollbacks ?? true }),
  };
  const now = new Date();
  const view = freezeView(item, now);
  await commit([
    createRecord(item, what),
    rulesWrite(rules, id, ruleOf(item), now),
    recordChange(caller, { type: 'Freeze Created', subject: `freeze/${id}`, project_id: projectOf(scope), data: view }),
    ...alsoCommit(view),
  ]);
  return view;
}

/** `PATCH /freezes/{id}` (RFC 7396 over name, description, window, allow_rollbacks; the scope stays). */
export async function updateFreeze(caller: Caller, id: string, patch: unknown, expected: number): Promise<FreezeView> {
  const { access, freeze, rules } = await readFreeze(caller, id, 'freeze.manage');
  const now = new Date();
  const overriding = passInForce(access, freeze, now);
  const next = validate(freezeChanges, mergePatch(pick(freeze, CHANGEABLE), patch, ['window']));
  const changes = Object.fromEntries(CHANGEABLE.map((f) => [f, (next as Record<string, unknown>)[f]]));
  const { item, write } = replaceRecord(
    freeze,
    { ...changes, allow_rollbacks: next.allow_rollbacks ?? true },
    expected,
    what,
  );
  const view = freezeView(item, now);
  await commit([
    write,
    rulesWrite(rules, id, ruleOf(item), now),
    recordChange(caller, {
      type: 'Freeze Updated',
      subject: `freeze/${id}`,
      project_id: projectOf(view.scope),
      data: { ...view, changes: changedFields(freeze, item, CHANGEABLE) },
    }),
    ...(overriding ? [overridden(caller, freeze, overriding, 'update')] : []),
  ]);
  return view;
}

/** The freeze and its rule go; deleting one in force needs freeze.override (and is told as an override). */
export async function deleteFreeze(caller: Caller, id: string, expected: number): Promise<void> {
  const { access, freeze, rules } = await readFreeze(caller, id, 'freeze.manage');
  const now = new Date();
  const overriding = passInForce(access, freeze, now);
  const scope = freeze.scope as string;
  await commit([
    deleteRecord(calendarKeys.freeze(id), expected, what),
    rulesWrite(rules, id, undefined, now),
    recordChange(caller, {
      type: 'Freeze Deleted',
      subject: `freeze/${id}`,
      project_id: projectOf(scope),
      data: { id, scope },
    }),
    ...(overriding ? [overridden(caller, freeze, overriding, 'delete')] : []),
  ]);
}

/** A scope path as the list takes it: `project/<id>`, `…/app/<id>`, `…/env/<name>`. */
const SCOPE_PATH = /^project\/prj_[0-9a-hjkmnp-tv-z]{26}(\/app\/app_[0-9a-hjkmnp-tv-z]{26}(\/env\/[a-z0-9-]{1,63})?)?$/;

/** Platform freezes concern everyone: any binding shows them. */
const mayRead = (access: Access, scope: ScopePath) =>
  scope === PLATFORM ? access.canAnywhere('freeze.read') : access.can('freeze.read', scope);

async function readFreeze(caller: Caller, id: string, permission: 'freeze.read' | 'freeze.manage') {
  const { access, items } = await signInAndRead(caller, [calendarKeys.freeze(id), calendarKeys.freezeRules()]);
  const [freeze, rules] = items;
  if (!freeze || !mayRead(access, freeze.scope as string)) throw notFound(what);
  if (permission !== 'freeze.read' && !access.can(permission, freeze.scope as string)) {
    throw forbidden(`You need the ${permission} permission on ${freeze.scope}.`);
  }
  return { access, freeze, rules };
}

/** The interval in force now, if any: going past it needs freeze.override there. */
function passInForce(access: Access, freeze: Item, now: Date) {
  const interval = intervalAt(freeze.window as FreezeRule['window'], now);
  if (interval && !access.can('freeze.override', freeze.scope as string)) {
    throw forbidden(
      `${freeze.name} is in force until ${interval.ends_at}: changing or deleting it now needs the freeze.override permission on ${freeze.scope}.`,
    );
  }
  return interval;
}

function overridden(caller: Caller, freeze: Item, interval: { ends_at: string }, action: 'update' | 'delete'): Write {
  const scope = freeze.scope as string;
  return recordChange(caller, {
    type: 'Freeze Overridden',
    subject: `freeze/${freeze.id}`,
    project_id: projectOf(scope),
    data: {
      action,
      freeze: { id: freeze.id as string, name: freeze.name as string, scope, ends_at: interval.ends_at },
      by: caller.sub,
    },
  });
}

/** What must exist for the scope to name something: its project, or its app and environment. */
function scopeKeys(place: FreezeScope): Key[] {
  if (place === 'platform') return [];
  if (place.app_id) return [keys.app(place.app_id), ...(place.env ? [keys.env(place.app_id, place.env)] : [])];
  return place.project_id ? [keys.project(place.project_id)] : [];
}

/** The scope path of `place`, once it names something that exists and the caller may manage freezes there. */
function resolveScope(access: Access, place: FreezeScope, [first, env]: (Item | undefined)[]): ScopePath {
  if (place === 'platform') {
    access.requireOn('freeze.manage', PLATFORM);
    return PLATFORM;
  }
  if (!place.app_id) {
    if (place.env) throw invalid('A scope with env needs app_id.', [{ name: 'scope.app_id', reason: 'missing' }]);
    if (!place.project_id) {
      throw invalid('Give a scope: "platform", or project_id, app_id and env.', [{ name: 'scope', reason: 'empty' }]);
    }
    if (!first) throw notFound('Project');
    const scope = projectScope(place.project_id);
    access.require('freeze.manage', scope, 'project.read', 'Project');
    return scope;
  }
  if (!first) throw notFound('Application');
  const projectId = first.project_id as string;
  if (place.project_id && place.project_id !== projectId) {
    throw invalid('project_id is not the application’s project.', [{ name: 'scope.project_id', reason: 'mismatch' }]);
  }
  const scope = place.env ? envScope(projectId, place.app_id, place.env) : appScope(projectId, place.app_id);
  access.require('freeze.manage', scope, 'app.read', 'Application');
  if (place.env && !env) throw notFound('Environment');
  return scope;
}

const ruleOf = (item: Item): FreezeRule => ({
  id: item.id as string,
  name: item.name as string,
  scope: item.scope as string,
  window: item.window as FreezeRule['window'],
  allow_rollbacks: item.allow_rollbacks !== false,
});

/**
 * The rules item after this freeze's change (`rule` undefined: it goes), without the windows that
 * are over; conditioned on the version read, so two freeze writes at once cannot lose one another.
 */
function rulesWrite(current: Item | undefined, id: string, rule: FreezeRule | undefined, now: Date): Write {
  const kept = ((current?.rules ?? []) as FreezeRule[]).filter((r) => r.id !== id && !isOver(r.window, now));
  const adding = rule && !isOver(rule.window, now);
  if (adding && kept.length >= MAX_FREEZE_RULES) {
    throw unprocessable(
      'too-many-freezes',
      `At most ${MAX_FREEZE_RULES} freezes may be current at once: delete some that are no longer needed.`,
    );
  }
  const version = (current?.version as number | undefined) ?? 0;
  return {
    put: {
      ...calendarKeys.freezeRules(),
      rules: adding ? [...kept, rule] : kept,
      version: version + 1,
      updated_at: now.toISOString(),
    },
    condition: current ? '#version = :version' : 'attribute_not_exists(PK)',
    ...(current ? { names: { '#version': 'version' }, values: { ':version': version } } : {}),
    onFail: () => busy('freezes-changed', 'Another freeze changed at the same moment; retry.'),
  };
}

function freezeView(item: Item, now: Date): FreezeView {
  const window = item.window as FreezeRule['window'];
  return {
    ...present<Omit<FreezeView, 'active' | 'next'>>(item),
    active: intervalAt(window, now) ?? null,
    next: nextInterval(window, now) ?? null,
  };
}
