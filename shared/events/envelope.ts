import type { ChangeEventData, ChangeEventType, SourceOf } from './catalog.ts';

/**
 * The one shape of a Slipway change event. The outbox stores it, the publisher puts it on the bus
 * (`source`, `detail-type`, and the rest as `detail`), and every consumer reads it back from
 * `event.detail`. `id` is ours and stable across redeliveries: consumers deduplicate on it, never
 * on EventBridge's own envelope id. Its type, source and data are one entry of ./catalog.ts.
 */
export interface ChangeEvent<Type extends ChangeEventType = ChangeEventType> {
  /** ULID, minted once when the change is committed. */
  id: string;
  /** `slipway.<area>`: slipway.catalog, slipway.iam, slipway.deployments, slipway.approvals. */
  source: SourceOf<Type>;
  /** EventBridge detail-type, e.g. `Deployment Succeeded`, `Project Created`. */
  type: Type;
  /** ISO 8601 instant of the change. */
  time: string;
  /** Who made the change: a user's `sub`, or `slipway` for the platform itself. */
  actor: string;
  /** The resource changed, `<kind>/<id>`: `project/prj_…`, `deployment/dep_…`, `env/app_…/prod`. */
  subject: string;
  /** The API request (API Gateway request id) or workflow execution that made it. */
  request_id?: string;
  /** Project the subject belongs to, when it has one: lets auditors and notifiers scope. */
  project_id?: string;
  data: ChangeEventData<Type>;
}

/**
 * A change event as a consumer reads it off the bus: its type may be newer than the consumer's code
 * (its producer was deployed first) and its data is another function's output, so neither is
 * trusted: check the type with isChangeEventType, read the data defensively.
 */
export interface ReceivedChangeEvent extends Omit<ChangeEvent, 'source' | 'type' | 'data'> {
  source: `slipway.${string}`;
  type: string;
  data: unknown;
}

/** What a bus consumer receives: an EventBridge event whose detail is a change event (minus source/type). */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Omit<ReceivedChangeEvent, 'source' | 'type'>;
}

/** A bus event back as the change event it was published from. */
export const changeOf = (event: BusEvent): ReceivedChangeEvent => ({
  ...event.detail,
  source: event.source as ReceivedChangeEvent['source'],
  type: event['detail-type'],
});
