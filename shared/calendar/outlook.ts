/**
 * An environment's calendar at a glance: the freeze in force now, the next one, and the next
 * scheduled fire. Freezes come from the one rules item (read with the rest of a page, ADR 25);
 * schedules from their app's GSI1 partition, one Query per app.
 */
import { envScope } from '../auth/scope.ts';
import { type ActiveFreeze, activeFreeze, type FreezeRule, nextFreeze } from '../domain/freeze.ts';
import { type ScheduleRecord, upcomingFires } from '../domain/schedule.ts';
import { type Item, queryAll } from '../store/table.ts';
import { calendarIndexes } from './keys.ts';

/** The next time a schedule fires for an environment, and which schedule it is. */
export interface NextFire {
  schedule_id: string;
  name: string;
  action: string;
  at: string;
  /** The same instant in the schedule's own zone (or as its `at` was written). */
  local: string;
}

export interface EnvOutlook {
  active_freeze: ActiveFreeze | null;
  next_freeze: ActiveFreeze | null;
  next_fire: NextFire | null;
}

/** The rules of the rules item (calendarKeys.freezeRules()); without one, nothing is frozen. */
export const freezeRulesOf = (item: Item | undefined): FreezeRule[] => (item?.rules as FreezeRule[] | undefined) ?? [];

/**
 * The soonest fire of each environment of these apps, keyed `<app id>#<env>`; `env` narrows the
 * Query to one environment's schedules (their sort key starts with it).
 */
export async function nextFiresByEnv(apps: readonly string[], now: Date, env?: string): Promise<Map<string, NextFire>> {
  const soonest = new Map<string, NextFire>();
  const schedules = await Promise.all(
    [...new Set(apps)].map((appId) =>
      queryAll({
        index: 'GSI1',
        partition: calendarIndexes.schedulesOfApp(appId),
        ...(env ? { prefix: `${env}#` } : {}),
      }),
    ),
  );
  for (const schedule of schedules.flat()) {
    const fire = nextFireOf(schedule, now);
    const key = `${schedule.app_id}#${schedule.env}`;
    const known = soonest.get(key);
    if (fire && (!known || fire.at < known.at)) soonest.set(key, fire);
  }
  return soonest;
}

/** When a schedule fires next: none when paused or completed, or when its one instant has passed. */
function nextFireOf(schedule: Item, now: Date): NextFire | undefined {
  const about = {
    schedule_id: schedule.id as string,
    name: schedule.name as string,
    action: (schedule.action as { type: string } | undefined)?.type ?? 'deploy',
  };
  // The schedule's own view computes it, so the overview and GET /schedules/{id} always agree.
  const [next] = upcomingFires(schedule as ScheduleRecord, now, 1);
  return next && { ...about, ...next };
}

/** One environment's outlook from what its page read. */
export function envOutlook(
  env: { project_id: string; app_id: string; name: string },
  rules: readonly FreezeRule[],
  fires: ReadonlyMap<string, NextFire>,
  now: Date,
): EnvOutlook {
  const scope = envScope(env.project_id, env.app_id, env.name);
  return {
    active_freeze: activeFreeze(rules, scope, 'deploy', now) ?? null,
    next_freeze: nextFreeze(rules, scope, now) ?? null,
    next_fire: fires.get(`${env.app_id}#${env.name}`) ?? null,
  };
}
