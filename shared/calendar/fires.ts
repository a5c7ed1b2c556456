/**
 * A schedule fires (Scheduler invokes functions/schedule-fire with the schedule id and the time it
 * was due). The fire acts as the schedule's owner with their rights as they are now, through the
 * same deploy, rollback or promotion path a person's request takes (lock queue, approvals,
 * freezes), and records how it went as one fire item per (schedule, fire time), committed with
 * the deployment it makes: a second fire for the same time finds it and makes nothing (ADR 26).
 */
import type { Caller } from '../auth/caller.ts';
import { callerFor } from '../auth/principal.ts';
import { requestDeployment, requestRollback } from '../delivery/deployments.ts';
import { type DeploymentView, statusUrl } from '../delivery/model.ts';
import { requestPromotion } from '../delivery/promotion.ts';
import { type FireView, fireKeyTime, isLate, type ScheduleAction, type ScheduleRecord } from '../domain/schedule.ts';
import { conflict, DomainError, Forbidden, isError, NotFound, RateLimited, Transient } from '../errors.ts';
import type { ChangeEventData } from '../events/catalog.ts';
import { recordChange } from '../events/outbox.ts';
import { Meter, type Metering } from '../quotas/meter.ts';
import { keys } from '../store/keys.ts';
import { present } from '../store/records.ts';
import { type AlsoCommit, commit, getMany, type Write } from '../store/table.ts';
import { calendarKeys } from './keys.ts';
import { actionPermission } from './schedules.ts';

/** What Scheduler's target input carries (`<aws.scheduler.scheduled-time>` substituted). */
export interface FireRequest {
  schedule_id: string;
  fire_time: string;
}

/** A fire's deployment counts against its environment's deploy quota like any deploy request. */
const deployQuota: Metering = (policy, partition) => new Meter(policy, partition);

/**
 * Fires a schedule once for `fire_time`. Answers how the fire went (the recorded one for a
 * duplicate), or undefined when there was nothing to do (no such schedule, paused, done).
 * Throws only what a retry may cure (a store outage, a busy item, a quota): Scheduler retries.
 */
export async function fireSchedule(request: FireRequest, now = new Date()): Promise<FireView | undefined> {
  const fireTime = fireKeyTime(request.fire_time);
  if (!fireTime) throw new Error(`Not a fire time: ${String(request.fire_time).slice(0, 100)}`);
  const fireKey = calendarKeys.fire(request.schedule_id, fireTime);
  const [item, recorded] = await getMany([calendarKeys.schedule(request.schedule_id), fireKey]);
  if (recorded) return present<FireView>(recorded);
  if (!item) return undefined;
  const schedule = present<ScheduleRecord>(item);
  if (!schedule.enabled || schedule.state === 'completed') return undefined;

  const fire = new Fire(schedule, fireTime, now);
  if (isLate(schedule, fireTime, now)) {
    const minutes = Math.round((now.getTime() - Date.parse(fireTime)) / 60_000);
    return fire.madeNothing('missed', `the fire came ${minutes} min after its time, outside its flexible window`);
  }
  const [owner] = await getMany([keys.user(schedule.owner)]);
  if (!owner) return fire.madeNothing('failed', `its owner ${schedule.owner} is no longer a user`);
  const caller = await callerFor(schedule.owner, `schedule:${schedule.id}@${fireTime}`);
  try {
    const deployment = await launchers[schedule.action.type](caller, schedule, schedule.action as never, {
      alsoCommit: (view) => fire.writes({ outcome: 'deployed', deployment_id: view.id }, caller),
      origin: { kind: 'schedule', schedule_id: schedule.id, fire_time: fireTime },
    });
    return fire.view({ outcome: 'deployed', deployment_id: deployment.id });
  } catch (error) {
    if (isError(error, 'fire-recorded')) return present<FireView>((await getMany([fireKey]))[0] ?? {});
    if (isError(error, 'schedule-deleted')) return undefined;
    const reason = refusal(error, schedule);
    if (reason === undefined) throw error;
    return fire.madeNothing('failed', reason);
  }
}

interface Launch {
  alsoCommit: AlsoCommit<DeploymentView>;
  origin: { kind: 'schedule'; schedule_id: string; fire_time: string };
}

type Launcher<A extends ScheduleAction> = (
  caller: Caller,
  schedule: ScheduleRecord,
  action: A,
  launch: Launch,
) => Promise<DeploymentView>;

const description = (s: ScheduleRecord, launch: Launch) =>
  `Schedule ${s.name} (${s.id}), fire of ${launch.origin.fire_time}`;

/** Each action through the path a person's request takes. */
const launchers: { [Type in ScheduleAction['type']]: Launcher<Extract<ScheduleAction, { type: Type }>> } = {
  deploy: (caller, s, { image, replicas, strategy }, launch) =>
    requestDeployment(
      caller,
      s.app_id,
      {
        env: s.env,
        image,
        ...(replicas !== undefined ? { replicas } : {}),
        ...(strategy ? { strategy } : {}),
        description: description(s, launch),
      },
      launch.alsoCommit,
      deployQuota,
      { origin: launch.origin },
    ),
  rollback: (caller, s, { target_revision }, launch) =>
    requestRollback(
      caller,
      {
        app_id: s.app_id,
        env: s.env,
        ...(target_revision ? { target_revision } : {}),
        description: description(s, launch),
      },
      launch.alsoCommit,
      deployQuota,
      { origin: launch.origin },
    ),
  promote: (caller, s, { from }, launch) =>
    requestPromotion(
      caller,
      s.app_id,
      { from, to: s.env, description: description(s, launch) },
      launch.alsoCommit,
      deployQuota,
      { origin: launch.origin },
    ),
};

/** Why a fire made no deployment, in a sentence for its history and chat; undefined: retry it. */
function refusal(error: unknown, s: ScheduleRecord): string | undefined {
  if (error instanceof Forbidden || error instanceof NotFound) {
    return `its owner ${s.owner} may no longer ${s.action.type} in ${s.env} (${actionPermission(s.action)}): ${error.message}`;
  }
  if (isError(error, 'frozen')) return `frozen: ${error.message}`;
  if (error instanceof RateLimited || error instanceof Transient) return undefined;
  if (error instanceof DomainError) return error.message;
  return undefined;
}

/** One fire of one schedule: its history item, the one-time schedule's completion, its event. */
class Fire {
  readonly schedule: ScheduleRecord;
  readonly fireTime: string;
  readonly now: Date;

  constructor(schedule: ScheduleRecord, fireTime: string, now: Date) {
    this.schedule = schedule;
    this.fireTime = fireTime;
    this.now = now;
  }

  view(result: Pick<FireView, 'outcome' | 'deployment_id' | 'reason'>): FireView {
    return { fire_time: this.fireTime, fired_at: this.now.toISOString(), ...result };
  }

  /** Records a fire that made no deployment, with a `Schedule Failed` event (and its chat notice). */
  async madeNothing(outcome: 'failed' | 'missed', reason: string): Promise<FireView | undefined> {
    try {
      await commit(this.writes({ outcome, reason }, { sub: this.schedule.owner }));
    } catch (error) {
      if (isError(error, 'schedule-deleted')) return undefined;
      if (!isError(error, 'fire-recorded')) throw error;
      return present<FireView>((await getMany([calendarKeys.fire(this.schedule.id, this.fireTime)]))[0] ?? {});
    }
    return this.view({ outcome, reason });
  }

  /**
   * The fire item (only if none exists for this time), the schedule's last fire (a one-time
   * schedule is done), and the event: committed with the deployment when there is one.
   */
  writes(result: Pick<FireView, 'outcome' | 'deployment_id' | 'reason'>, actor: { sub: string; requestId?: string }) {
    const s = this.schedule;
    const fire = this.view(result);
    const data: ChangeEventData<'Schedule Fired'> = {
      ...fire,
      schedule_id: s.id,
      schedule_name: s.name,
      app_id: s.app_id,
      app_name: s.app_name,
      env: s.env,
      action: s.action.type,
      owner: s.owner,
      url: fire.deployment_id ? statusUrl(fire.deployment_id) : `/api/v1/schedules/${s.id}/fires`,
    };
    const writes: Write[] = [
      {
        put: { ...calendarKeys.fire(s.id, this.fireTime), ...fire },
        condition: 'attribute_not_exists(PK)',
        onFail: () => conflict('fire-recorded', 'This fire of the schedule was recorded already.'),
      },
      {
        update: calendarKeys.schedule(s.id),
        set: `SET last_fire = :fire, version = version + :one, updated_at = :now${s.at !== undefined ? ', #state = :done' : ''}`,
        condition: 'attribute_exists(PK)',
        ...(s.at !== undefined ? { names: { '#state': 'state' } } : {}),
        values: {
          ':fire': fire,
          ':one': 1,
          ':now': fire.fired_at,
          ...(s.at !== undefined ? { ':done': 'completed' } : {}),
        },
        onFail: () => conflict('schedule-deleted', 'The schedule was deleted while it fired.'),
      },
      recordChange(actor, {
        type: result.outcome === 'deployed' ? 'Schedule Fired' : 'Schedule Failed',
        subject: `schedule/${s.id}`,
        project_id: s.project_id,
        data,
      }),
    ];
    return writes;
  }
}
