import type { Key } from '../store/table.ts';

/**
 * Where calendar records live. A schedule sits under its own id with its fire history in the same
 * partition (one item per fire time: the idempotency of a fire); schedules are listed by app on
 * GSI1 (sorted by environment) and by project on GSI2. Freezes sit under their own ids, listed on
 * GSI1 by scope; the rules the freeze check needs are copied into one calendar item, kept in the
 * same transaction, so a deploy reads them in the BatchGetItem it already makes (ADR 25).
 */
export const calendarKeys = {
  schedule: (id: string): Key => ({ PK: `SCHEDULE#${id}`, SK: 'SCHEDULE' }),
  /** One per (schedule, fire time): a second fire for the same instant fails its condition. */
  fire: (scheduleId: string, fireTime: string): Key => ({ PK: `SCHEDULE#${scheduleId}`, SK: `FIRE#${fireTime}` }),
  freeze: (id: string): Key => ({ PK: `FREEZE#${id}`, SK: 'FREEZE' }),
  /** Every freeze that is not over, as `FreezeRule`s (shared/domain/freeze.ts). */
  freezeRules: (): Key => ({ PK: 'FREEZES', SK: 'RULES' }),
  /** freeze-watch's cursor: the windows it has told as started and not yet as ended. */
  freezeWatch: (): Key => ({ PK: 'FREEZES', SK: 'WATCH' }),
};

export const calendarIndexes = {
  /** GSI1: the schedules of an app; sort key `<env>#<schedule id>`. */
  schedulesOfApp: (appId: string) => `APP_SCHEDULES#${appId}`,
  /** GSI2: the schedules of a project; sort key the schedule id. */
  schedulesOfProject: (projectId: string) => `PROJECT_SCHEDULES#${projectId}`,
  /**
   * GSI1: freezes by scope; sort key `<scope path>/#<freeze id>`, so a scope's freezes and those
   * inside it are the prefix `<scope path>/` (without the slash, `…/env/prod` would also match `…/env/prod2`).
   */
  freezes: 'KIND#freeze',
};
