/**
 * The schedules API: create, read, list (by app or project), change, delete, and the fire history.
 * Managing a schedule takes `schedule.manage` and the permission of what it does on its
 * environment, since it will act as whoever manages it (ADR 26). Each schedule has its trigger in
 * EventBridge Scheduler, kept in step here (shared/calendar/triggers.ts).
 */
import type { Access } from '../auth/access.ts';
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope, envScope, projectScope } from '../auth/scope.ts';
import { changedFields } from '../catalog/changes.ts';
import { mergePatch, pick } from '../domain/merge-patch.ts';
import {
  type FireView,
  type NewSchedule,
  SCHEDULE_CHANGEABLE,
  type ScheduleAction,
  type ScheduleChanges,
  type ScheduleRecord,
  type ScheduleView,
  scheduleChanges,
  upcomingFires,
} from '../domain/schedule.ts';
import { validate } from '../domain/validate.ts';
import { invalid, notFound } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { createRecord, deleteRecord, present, replaceRecord } from '../store/records.ts';
import { type AlsoCommit, commit, type Item, queryPage } from '../store/table.ts';
import { calendarIndexes, calendarKeys } from './keys.ts';
import { dropTrigger, putScheduleTrigger } from './triggers.ts';

const what = 'Schedule';

export const viewOf = (record: ScheduleRecord, now = new Date()): ScheduleView => ({
  ...record,
  next_fires: upcomingFires(record, now),
});

export async function createSchedule(
  caller: Caller,
  input: NewSchedule,
  alsoCommit: AlsoCommit<ScheduleView>,
): Promise<ScheduleView> {
  const { app_id: appId, env, ...fields } = input;
  const { access, items } = await signInAndRead(caller, [
    keys.app(appId),
    keys.env(appId, env),
    ...(input.action.type === 'promote' ? [keys.env(appId, input.action.from)] : []),
  ]);
  const [app, envItem, from] = items;
  if (!app) throw notFound('Application');
  const projectId = app.project_id as string;
  mayManage(access, { project_id: projectId, app_id: appId, env, action: input.action });
  if (!envItem) throw notFound('Environment');
  if (input.action.type === 'promote' && !from) throw notFound(`Environment ${input.action.from}`);
  notInThePast(input.at);

  const id = newId('sch');
  const now = new Date().toISOString();
  const record: ScheduleRecord = {
    id,
    app_id: appId,
    app_name: app.name as string,
    project_id: projectId,
    env,
    ...fields,
    enabled: fields.enabled ?? true,
    owner: caller.sub,
    state: 'active',
    version: 1,
    created_at: now,
    updated_at: now,
  };
  const view = viewOf(record);
  // The trigger exists before the schedule does; if the record is not written, it goes again.
  await putScheduleTrigger(record, 'create');
  try {
    await commit([
      createRecord({ ...calendarKeys.schedule(id), ...indexes(record), ...record }, what),
      recordChange(caller, {
        type: 'Schedule Created',
        subject: `schedule/${id}`,
        project_id: projectId,
        data: record,
      }),
      ...alsoCommit(view),
    ]);
  } catch (error) {
    await dropTrigger(id).catch(() => undefined);
    throw error;
  }
  return view;
}

export async function getSchedule(caller: Caller, id: string): Promise<ScheduleView> {
  return viewOf((await readSchedule(caller, id, 'schedule.read')).record);
}

/**
 * `PATCH /schedules/{id}` (RFC 7396; `action` is replaced whole). Whoever changes a schedule
 * becomes its owner: it acts with their rights from then on, never with someone else's.
 */
export async function updateSchedule(
  caller: Caller,
  id: string,
  patch: unknown,
  expected: number,
): Promise<ScheduleView> {
  const { access, item, record } = await readSchedule(caller, id, 'schedule.manage');
  const next: ScheduleChanges = validate(
    scheduleChanges,
    mergePatch(pick(item, SCHEDULE_CHANGEABLE), patch, ['action']),
  );
  mayManage(access, { ...record, action: next.action });
  if (next.at !== record.at) notInThePast(next.at);
  const retimed = next.at !== record.at || next.cron !== record.cron || next.timezone !== record.timezone;
  const changes = {
    ...Object.fromEntries(SCHEDULE_CHANGEABLE.map((f) => [f, (next as Record<string, unknown>)[f]])),
    enabled: next.enabled ?? true,
    owner: caller.sub,
    // A one-time schedule given a new instant is active again.
    ...(retimed ? { state: 'active' } : {}),
  };
  const { item: updated, write } = replaceRecord(item, changes, expected, what);
  const after = present<ScheduleRecord>(updated);
  // A one-time schedule that fired has no trigger left (Scheduler deleted it), and needs none.
  if (after.state === 'active') await putScheduleTrigger(after, 'update');
  try {
    await commit([
      write,
      recordChange(caller, {
        type: 'Schedule Updated',
        subject: `schedule/${id}`,
        project_id: record.project_id,
        data: { ...after, changes: changedFields(item, updated, [...SCHEDULE_CHANGEABLE, 'owner']) },
      }),
    ]);
  } catch (error) {
    // The record stays as it was: so does its trigger.
    if (after.state === 'active') await putScheduleTrigger(record, 'update').catch(() => undefined);
    throw error;
  }
  return viewOf(after);
}

/** Its fire history stays in the table, unreachable through the API, as deleted pipelines' runs do. */
export async function deleteSchedule(caller: Caller, id: string, expected: number): Promise<void> {
  const { record } = await readSchedule(caller, id, 'schedule.manage');
  await commit([
    deleteRecord(calendarKeys.schedule(id), expected, what),
    recordChange(caller, {
      type: 'Schedule Deleted',
      subject: `schedule/${id}`,
      project_id: record.project_id,
      data: { id, app_id: record.app_id },
    }),
  ]);
  // The record is gone first: a fire meanwhile finds nothing to do.
  await dropTrigger(id);
}

/**
 * `GET /schedules?app_id=` (by environment) or `?project_id=` (schedule.read on the project): one
 * Query; a page shows the schedules the caller may read (a grant on one environment shows its own).
 */
export async function listSchedules(
  caller: Caller,
  filter: { app_id?: string | undefined; project_id?: string | undefined },
  page: PageRequest,
): Promise<Page<ScheduleView>> {
  if ((filter.app_id === undefined) === (filter.project_id === undefined)) {
    throw invalid('Give app_id or project_id.', [{ name: 'app_id', reason: 'exactly one of app_id, project_id' }]);
  }
  const { access, items } = await signInAndRead(caller, filter.app_id ? [keys.app(filter.app_id)] : []);
  if (filter.app_id) {
    const app = items[0];
    if (!app || !access.can('app.read', appScope(app.project_id as string, filter.app_id)))
      throw notFound('Application');
  } else {
    access.require('schedule.read', projectScope(filter.project_id as string), 'project.read', 'Project');
  }
  const result = await queryPage(
    filter.app_id
      ? { index: 'GSI1', partition: calendarIndexes.schedulesOfApp(filter.app_id), page }
      : { index: 'GSI2', partition: calendarIndexes.schedulesOfProject(filter.project_id as string), page },
  );
  const now = new Date();
  const readable = result.items
    .map((i) => present<ScheduleRecord>(i))
    .filter((s) => access.can('schedule.read', envScope(s.project_id, s.app_id, s.env)));
  return { items: readable.map((s) => viewOf(s, now)), next_cursor: result.next_cursor };
}

/** `GET /schedules/{id}/fires`: newest first. */
export async function listFires(caller: Caller, id: string, page: PageRequest): Promise<Page<FireView>> {
  await readSchedule(caller, id, 'schedule.read');
  const result = await queryPage({ partition: calendarKeys.schedule(id).PK, prefix: 'FIRE#', page, newestFirst: true });
  return { items: result.items.map((i) => present<FireView>(i)), next_cursor: result.next_cursor };
}

async function readSchedule(caller: Caller, id: string, permission: 'schedule.read' | 'schedule.manage') {
  const { access, items } = await signInAndRead(caller, [calendarKeys.schedule(id)]);
  const item = items[0];
  if (!item) throw notFound(what);
  const record = present<ScheduleRecord>(item);
  access.require(permission, envScope(record.project_id, record.app_id, record.env), 'app.read', what);
  return { access, item, record };
}

/** `schedule.manage` and what the action itself needs there: whoever manages it answers for what it does. */
function mayManage(
  access: Access,
  s: Pick<ScheduleRecord, 'project_id' | 'app_id' | 'env'> & { action: ScheduleAction },
): void {
  const scope = envScope(s.project_id, s.app_id, s.env);
  access.require('schedule.manage', scope, 'app.read', 'Application');
  access.requireOn(actionPermission(s.action), scope);
  if (s.action.type === 'promote') access.requireOn('env.read', envScope(s.project_id, s.app_id, s.action.from));
}

/** The permission a fire of this action uses on the schedule's environment. */
export const actionPermission = (action: ScheduleAction) =>
  action.type === 'rollback' ? ('rollback.create' as const) : ('deployment.create' as const);

function notInThePast(at: string | undefined): void {
  if (at !== undefined && Date.parse(at) <= Date.now()) {
    throw invalid('at is in the past.', [{ name: 'at', reason: `${at} has passed; a schedule fires in the future` }]);
  }
}

const indexes = (s: ScheduleRecord): Item => ({
  GSI1PK: calendarIndexes.schedulesOfApp(s.app_id),
  GSI1SK: `${s.env}#${s.id}`,
  GSI2PK: calendarIndexes.schedulesOfProject(s.project_id),
  GSI2SK: s.id,
});
