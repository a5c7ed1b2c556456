/**
 * The port to EventBridge Scheduler (the only module that imports its client): one Scheduler
 * schedule per Slipway schedule, named by its id, in the platform's schedule group. Each invokes
 * the schedule-fire function with the schedule id and the scheduled time Scheduler substitutes,
 * with a retry policy and a dead-letter queue; a one-time schedule deletes itself after its fire
 * (ADR 24). On AWS and in the local cloud alike (AWS_ENDPOINT_URL_SCHEDULER).
 */
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { config } from '../config.ts';

const scheduler = new SchedulerClient({});

export interface Trigger {
  /** The Slipway schedule id = the Scheduler schedule name. */
  id: string;
  /** `schedulerAt(...)` or `schedulerCron(...)` (shared/domain/calendar.ts). */
  expression: string;
  /** `UTC` for at(). */
  timezone: string;
  flexibleWindowMinutes?: number;
  enabled: boolean;
  /** ActionAfterCompletion DELETE: the Scheduler schedule goes once it has fired. */
  oneTime: boolean;
}

/**
 * A fire retried for up to an hour: a late one is still delivered, and the fire function records
 * it as missed rather than acting on it (ADR 26); what is still undelivered goes to the queue.
 */
const FIRE_RETRY_POLICY = { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 };

/** What the fire function receives; Scheduler fills in the scheduled time of each fire. */
const fireInput = (id: string): string =>
  JSON.stringify({ schedule_id: id, fire_time: '<aws.scheduler.scheduled-time>' });

/**
 * Creates or updates the Scheduler schedule of `trigger`. `mode` is what the caller expects; the
 * other one is taken when it is wrong (a one-time schedule that fired is gone; a create retried
 * after a lost answer finds its schedule), so the Scheduler always ends up as the caller says.
 */
export async function putTrigger(trigger: Trigger, mode: 'create' | 'update'): Promise<void> {
  const input = scheduleOf(trigger);
  try {
    await send(input, mode);
  } catch (error) {
    if (mode === 'update' && error instanceof ResourceNotFoundException) return send(input, 'create');
    if (mode === 'create' && error instanceof ConflictException) return send(input, 'update');
    throw error;
  }
}

/** Deletes the Scheduler schedule of `id`; one that is already gone (a fired one-time schedule) is fine. */
export async function deleteTrigger(id: string): Promise<void> {
  try {
    await scheduler.send(new DeleteScheduleCommand({ Name: id, GroupName: config.scheduleTarget.group }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}

async function send(input: CreateScheduleCommandInput, mode: 'create' | 'update'): Promise<void> {
  await scheduler.send(mode === 'create' ? new CreateScheduleCommand(input) : new UpdateScheduleCommand(input));
}

function scheduleOf(trigger: Trigger): CreateScheduleCommandInput {
  const target = config.scheduleTarget;
  return {
    Name: trigger.id,
    GroupName: target.group,
    ScheduleExpression: trigger.expression,
    ScheduleExpressionTimezone: trigger.timezone,
    FlexibleTimeWindow: trigger.flexibleWindowMinutes
      ? { Mode: 'FLEXIBLE', MaximumWindowInMinutes: trigger.flexibleWindowMinutes }
      : { Mode: 'OFF' },
    State: trigger.enabled ? 'ENABLED' : 'DISABLED',
    ActionAfterCompletion: trigger.oneTime ? 'DELETE' : 'NONE',
    Target: {
      Arn: target.targetArn,
      RoleArn: target.roleArn,
      Input: fireInput(trigger.id),
      RetryPolicy: FIRE_RETRY_POLICY,
      DeadLetterConfig: { Arn: target.deadLetterArn },
    },
  };
}
