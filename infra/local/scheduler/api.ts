/**
 * The local EventBridge Scheduler's wire protocol, REST-JSON as @aws-sdk/client-scheduler speaks
 * it: CreateSchedule `POST /schedules/{Name}`, GetSchedule `GET /schedules/{Name}?groupName=`,
 * UpdateSchedule `PUT /schedules/{Name}`, DeleteSchedule `DELETE /schedules/{Name}?groupName=`,
 * ListSchedules `GET /schedules?ScheduleGroup=&NamePrefix=&State=&MaxResults=&NextToken=`, and
 * GetScheduleGroup `GET /schedule-groups/{Name}`. Timestamps are epoch seconds; errors are the
 * status AWS gives them with `x-amzn-errortype` and `{"Message"}` (ValidationException 400,
 * ResourceNotFoundException 404, ConflictException 409). Served on the one local AWS endpoint for
 * requests signed for `scheduler`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTimeZone } from '../../../shared/domain/calendar.ts';
import { AwsServiceError, type RestService } from '../aws-endpoint.ts';
import { readBody } from '../request-body.ts';
import { parseExpression } from './expressions.ts';
import type { LocalScheduler, ScheduleDefinition, StoredSchedule, Target } from './schedules.ts';

const MAX_BODY_BYTES = 1024 * 1024;
const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
/** Scheduler's limit on a target's Input. */
const MAX_INPUT_CHARS = 8192;

export function schedulerHandler(scheduler: LocalScheduler): RestService {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [collection = '', rawName, ...rest] = url.pathname.slice(1).split('/');
    const name = rawName === undefined ? undefined : decodeURIComponent(rawName);
    try {
      if (rest.length > 0) throw unknownOperation(req);
      if (collection === 'schedule-groups' && name !== undefined && req.method === 'GET') {
        return send(res, 200, groupView(scheduler, name));
      }
      if (collection !== 'schedules') throw unknownOperation(req);
      if (name === undefined) {
        if (req.method !== 'GET') throw unknownOperation(req);
        return send(res, 200, list(scheduler, url.searchParams));
      }
      const group = url.searchParams.get('groupName') ?? 'default';
      switch (req.method) {
        case 'GET':
          return send(res, 200, view(scheduler.get(group, name)));
        case 'DELETE':
          scheduler.remove(group, name);
          return send(res, 200, {});
        case 'POST':
        case 'PUT': {
          const input = await jsonBody(req);
          const inGroup = optionalString(input, 'GroupName') ?? 'default';
          const definition = definitionOf(checkedName(name), input);
          const stored =
            req.method === 'POST'
              ? scheduler.create(inGroup, name, definition)
              : scheduler.update(inGroup, name, definition);
          return send(res, 200, { ScheduleArn: stored.arn });
        }
        default:
          throw unknownOperation(req);
      }
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      send(res, error.status, { Message: error.message }, error.name);
    }
  };
}

/** A request's fields checked as Scheduler checks them; a refusal is a ValidationException. */
function definitionOf(name: string, input: Record<string, unknown>): ScheduleDefinition {
  const expression = requiredString(input, 'ScheduleExpression', 'scheduleExpression');
  if (expression.length > 256)
    throw invalid(
      `Value at 'scheduleExpression' failed to satisfy constraint: Member must have length less than or equal to 256`,
    );
  const timezone = optionalString(input, 'ScheduleExpressionTimezone') ?? 'UTC';
  if (!isTimeZone(timezone)) throw invalid(`Invalid time zone: ${timezone}.`);
  const recurrence = parseExpression(expression, timezone);
  if (typeof recurrence === 'string') throw invalid(recurrence);

  const window = input.FlexibleTimeWindow as Record<string, unknown> | undefined;
  if (!isObject(window)) throw notNull('flexibleTimeWindow');
  const mode = window.Mode;
  if (mode !== 'OFF' && mode !== 'FLEXIBLE')
    throw invalid(
      `Value '${String(mode)}' at 'flexibleTimeWindow.mode' failed to satisfy constraint: Member must satisfy enum value set: [OFF, FLEXIBLE]`,
    );
  const minutes = window.MaximumWindowInMinutes;
  if (mode === 'FLEXIBLE' && !(Number.isInteger(minutes) && (minutes as number) >= 1 && (minutes as number) <= 1440)) {
    throw invalid('MaximumWindowInMinutes must be between 1 and 1440 when the FlexibleTimeWindow mode is FLEXIBLE.');
  }
  if (mode === 'OFF' && minutes !== undefined)
    throw invalid('MaximumWindowInMinutes is only allowed when the FlexibleTimeWindow mode is FLEXIBLE.');

  const state = optionalString(input, 'State') ?? 'ENABLED';
  if (state !== 'ENABLED' && state !== 'DISABLED')
    throw invalid(
      `Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]`,
    );
  const after = optionalString(input, 'ActionAfterCompletion') ?? 'NONE';
  if (after !== 'NONE' && after !== 'DELETE')
    throw invalid(
      `Value '${after}' at 'actionAfterCompletion' failed to satisfy constraint: Member must satisfy enum value set: [NONE, DELETE]`,
    );
  const startDate = optionalDate(input, 'StartDate');
  const endDate = optionalDate(input, 'EndDate');
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate)
    throw invalid('The EndDate must be after the StartDate.');
  const description = optionalString(input, 'Description');
  const kmsKeyArn = optionalString(input, 'KmsKeyArn');
  const clientToken = optionalString(input, 'ClientToken');
  return {
    expression,
    timezone,
    state,
    flexibleWindow: mode === 'FLEXIBLE' ? { Mode: mode, MaximumWindowInMinutes: minutes as number } : { Mode: 'OFF' },
    target: targetOf(name, input.Target),
    actionAfterCompletion: after,
    ...(description === undefined ? {} : { description }),
    ...(startDate === undefined ? {} : { startDate }),
    ...(endDate === undefined ? {} : { endDate }),
    ...(kmsKeyArn === undefined ? {} : { kmsKeyArn }),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
}

function targetOf(name: string, target: unknown): Target {
  if (!isObject(target)) throw notNull('target');
  for (const field of ['Arn', 'RoleArn']) {
    const value = target[field];
    if (typeof value !== 'string' || !value.startsWith('arn:')) {
      throw value === undefined
        ? notNull(`target.${field === 'Arn' ? 'arn' : 'roleArn'}`)
        : invalid(`Provided ${field} is not in correct format.`);
    }
  }
  if (target.Input !== undefined && (typeof target.Input !== 'string' || target.Input.length > MAX_INPUT_CHARS)) {
    throw invalid(
      `Value at 'target.input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INPUT_CHARS}`,
    );
  }
  const retry = target.RetryPolicy;
  if (retry !== undefined) {
    const { MaximumRetryAttempts: attempts, MaximumEventAgeInSeconds: age } = retry as Record<string, unknown>;
    if (
      attempts !== undefined &&
      !(Number.isInteger(attempts) && (attempts as number) >= 0 && (attempts as number) <= 185)
    ) {
      throw invalid(
        `Value '${String(attempts)}' at 'target.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between 0 and 185`,
      );
    }
    if (age !== undefined && !(Number.isInteger(age) && (age as number) >= 60 && (age as number) <= 86400)) {
      throw invalid(
        `Value '${String(age)}' at 'target.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 86400`,
      );
    }
  }
  const queue = (target.DeadLetterConfig as Record<string, unknown> | undefined)?.Arn;
  if (queue !== undefined && (typeof queue !== 'string' || !/^arn:aws[a-z-]*:sqs:/.test(queue))) {
    throw invalid(`Invalid DeadLetterConfig Arn for schedule ${name}: it must be an Amazon SQS queue ARN.`);
  }
  // AWS fills in the default retry policy, and GetSchedule shows it.
  return {
    ...(target as Target),
    RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400, ...(retry as object | undefined) },
  };
}

function list(scheduler: LocalScheduler, query: URLSearchParams) {
  const group = query.get('ScheduleGroup');
  const prefix = query.get('NamePrefix') ?? '';
  const state = query.get('State');
  const max = Number(query.get('MaxResults') ?? 100);
  if (!Number.isInteger(max) || max < 1 || max > 100)
    throw invalid(
      `Value '${query.get('MaxResults')}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100`,
    );
  if (state !== null && state !== 'ENABLED' && state !== 'DISABLED')
    throw invalid(
      `Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]`,
    );
  const after = decodeToken(query.get('NextToken'));
  const matching = scheduler
    .list()
    .filter(
      (s) =>
        (group === null || s.group === group) && s.name.startsWith(prefix) && (state === null || s.state === state),
    )
    .filter((s) => after === undefined || `${s.group}/${s.name}` > after);
  const page = matching.slice(0, max);
  const last = page.at(-1);
  return {
    Schedules: page.map((s) => ({
      Arn: s.arn,
      Name: s.name,
      GroupName: s.group,
      State: s.state,
      CreationDate: s.createdAt / 1000,
      LastModificationDate: s.modifiedAt / 1000,
      Target: { Arn: s.target.Arn },
    })),
    ...(matching.length > max && last
      ? { NextToken: Buffer.from(`${last.group}/${last.name}`).toString('base64url') }
      : {}),
  };
}

function view(s: StoredSchedule) {
  return {
    Arn: s.arn,
    GroupName: s.group,
    Name: s.name,
    ScheduleExpression: s.expression,
    ScheduleExpressionTimezone: s.timezone,
    State: s.state,
    FlexibleTimeWindow: s.flexibleWindow,
    Target: s.target,
    ActionAfterCompletion: s.actionAfterCompletion,
    CreationDate: s.createdAt / 1000,
    LastModificationDate: s.modifiedAt / 1000,
    ...(s.description === undefined ? {} : { Description: s.description }),
    ...(s.startDate === undefined ? {} : { StartDate: s.startDate / 1000 }),
    ...(s.endDate === undefined ? {} : { EndDate: s.endDate / 1000 }),
    ...(s.kmsKeyArn === undefined ? {} : { KmsKeyArn: s.kmsKeyArn }),
  };
}

function groupView(scheduler: LocalScheduler, name: string) {
  if (!scheduler.hasGroup(name))
    throw new AwsServiceError('ResourceNotFoundException', `Schedule group ${name} does not exist.`, 404);
  return { Arn: scheduler.groupArn(name), Name: name, State: 'ACTIVE' };
}

function decodeToken(token: string | null): string | undefined {
  if (token === null) return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.includes('/')) throw invalid('The NextToken is not valid.');
  return decoded;
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) throw new AwsServiceError('ValidationException', 'Request too large', 413);
  try {
    const value: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    if (isObject(value)) return value;
  } catch {
    // answered below
  }
  throw invalid('The request body is not a JSON object.');
}

function checkedName(name: string): string {
  if (!NAME.test(name))
    throw invalid(
      `Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$`,
    );
  return name;
}

function requiredString(input: Record<string, unknown>, field: string, wireName: string): string {
  const value = input[field];
  if (value === undefined || value === null) throw notNull(wireName);
  if (typeof value !== 'string' || value.length === 0)
    throw invalid(
      `Value at '${wireName}' failed to satisfy constraint: Member must have length greater than or equal to 1`,
    );
  return value;
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`Value at '${field}' must be a string.`);
  return value;
}

/** Epoch seconds on the wire, milliseconds here. */
function optionalDate(input: Record<string, unknown>, field: string): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`Value at '${field}' must be a timestamp.`);
  return Math.round(value * 1000);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const invalid = (message: string) => new AwsServiceError('ValidationException', message, 400);
const notNull = (field: string) =>
  invalid(
    `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
  );
const unknownOperation = (req: IncomingMessage) =>
  new AwsServiceError(
    'UnknownOperationException',
    `The local Scheduler does not implement ${req.method} ${req.url}`,
    404,
  );

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(json);
}
