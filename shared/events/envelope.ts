/**
 * The one shape of a Slipway change event. The outbox stores it, the publisher puts it on the bus
 * (`source`, `detail-type`, and the rest as `detail`), and every consumer reads it back from
 * `event.detail`. `id` is ours and stable across redeliveries: consumers deduplicate on it, never
 * on EventBridge's own envelope id.
 */
export interface ChangeEvent<T = Record<string, unknown>> {
  /** ULID, minted once when the change is committed. */
  id: string;
  /** `slipway.<area>`: slipway.catalog, slipway.iam, slipway.deployments, slipway.approvals. */
  source: `slipway.${string}`;
  /** EventBridge detail-type, e.g. `Deployment Succeeded`, `Project Created`. */
  type: string;
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
  data: T;
}

/** What a bus consumer receives: an EventBridge event whose detail is a ChangeEvent (minus source/type). */
export interface BusEvent<T = Record<string, unknown>> {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Omit<ChangeEvent<T>, 'source' | 'type'>;
}

/** A bus event back as the ChangeEvent it was published from. */
export const changeOf = <T>(event: BusEvent<T>): ChangeEvent<T> => ({
  ...event.detail,
  source: event.source as ChangeEvent['source'],
  type: event['detail-type'],
});
