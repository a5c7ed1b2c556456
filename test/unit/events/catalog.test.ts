import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Move } from '../../../shared/delivery/progress.ts';
import {
  CHANGE_EVENTS,
  type ChangeEventData,
  type ChangeEventType,
  type DeploymentEventType,
  isChangeEventType,
} from '../../../shared/events/catalog.ts';
import type { ReceivedChangeEvent } from '../../../shared/events/envelope.ts';
import { type Change, changeEvent } from '../../../shared/events/outbox.ts';
import { chatLines, renderMessage } from '../../../shared/notify/render.ts';

const CHANGE_EVENT_TYPES = Object.keys(CHANGE_EVENTS) as ChangeEventType[];

const received = (type: ChangeEventType): ReceivedChangeEvent => ({
  id: '01JD0000000000000000000000',
  source: CHANGE_EVENTS[type].source,
  type,
  time: '2026-11-20T14:03:27.000Z',
  actor: 'usr_bob',
  subject: 'deployment/dep_1',
  data: { app_name: 'shop-api', env: 'prod' },
});

describe('change event catalog', () => {
  it('is what producers record: a type outside it, or data of another shape, does not compile', () => {
    expectTypeOf<'Deployment Paused'>().not.toExtend<ChangeEventType>();
    expectTypeOf<Change['type']>().toEqualTypeOf<ChangeEventType>();
    expectTypeOf<NonNullable<Move['event']>>().toEqualTypeOf<DeploymentEventType>();
    expectTypeOf<DeploymentEventType>().toExtend<`${'Deployment' | 'Rollback'} ${string}`>();
    expectTypeOf<ChangeEventData<'Project Deleted'>>().toEqualTypeOf<{ id: string }>();
  });

  it('fixes the source of each type: a producer names only the type', () => {
    const event = changeEvent(
      { sub: 'alice', requestId: 'req-1' },
      { type: 'Team Member Removed', subject: 'team/team_1', data: { team_id: 'team_1', user_id: 'bob' } },
    );
    expect(event).toMatchObject({ source: 'slipway.iam', type: 'Team Member Removed', request_id: 'req-1' });
    expect(CHANGE_EVENTS['Approval Requested'].source).toBe('slipway.approvals');
    expect(CHANGE_EVENTS['Rollback Failed'].source).toBe('slipway.deployments');
  });

  it('knows only its own types, not what an object inherits', () => {
    expect(CHANGE_EVENT_TYPES.every(isChangeEventType)).toBe(true);
    for (const other of ['Deployment Paused', 'toString', 'constructor', '__proto__', '']) {
      expect(isChangeEventType(other), other).toBe(false);
    }
  });
});

describe('chat lines', () => {
  it('hold a decision for every event type, and for nothing else', () => {
    expect(Object.keys(chatLines).sort()).toEqual([...CHANGE_EVENT_TYPES].sort());
    for (const type of CHANGE_EVENT_TYPES) expect(chatLines[type], type).not.toBeUndefined();
  });

  it('announce every deployment and approval event, failed builds, runs and schedule fires, freezes starting, ending and overridden, and no catalog, IAM or other build, pipeline or freeze change', () => {
    for (const type of CHANGE_EVENT_TYPES) {
      const announced =
        ['slipway.deployments', 'slipway.approvals'].includes(CHANGE_EVENTS[type].source) ||
        type === 'Pipeline Run Failed' ||
        type === 'Build Failed' ||
        type === 'Schedule Failed' ||
        ['Freeze Started', 'Freeze Ended', 'Freeze Overridden'].includes(type);
      expect(renderMessage(received(type)) === undefined ? 'silent' : 'announced', type).toBe(
        announced ? 'announced' : 'silent',
      );
    }
  });

  it.each([
    'Deployment Rolling Back',
    'Deployment Cancelled',
    'Rollback Queued',
    'Rollback Succeeded',
    'Rollback Failed',
    'Rollback Rejected',
    'Rollback Cancelled',
    'Approval Vote Cast',
  ] as const)('keep the generic line for %s, which has no wording of its own', (type) => {
    expect(renderMessage(received(type))).toMatchObject({
      title: `${type}: shop-api in prod`,
      text: 'deployment/dep_1 changed.',
      severity: 'info',
    });
  });
});
