import type { BuildEventData } from '../builds/model.ts';
import type { DeploymentEventData } from '../delivery/model.ts';
import type { AppView } from '../domain/app.ts';
import type { ChannelView } from '../domain/channel.ts';
import type { ClusterView } from '../domain/cluster.ts';
import type { EnvView } from '../domain/environment.ts';
import type { FreezeView } from '../domain/freeze.ts';
import type { BindingView, MemberView, TeamView, UserView } from '../domain/identity.ts';
import type { PipelineView } from '../domain/pipeline.ts';
import type { ProjectView } from '../domain/project.ts';
import type { RunView } from '../domain/run.ts';
import type { FireView, ScheduleRecord } from '../domain/schedule.ts';
import type { WebhookView } from '../domain/webhook.ts';
import type { ChatKind } from '../notify/channels.ts';

/**
 * Every change event the platform emits: its detail-type, its source and the shape of its data.
 * Producers can record only these (shared/events/outbox.ts), and a consumer that decides per type
 * holds a decision for each (the notifier's chat lines), so a new type is a type error until every
 * such consumer has decided what to do with it.
 */

/** An update's data: the resource as it is now, and the names of the fields that changed. */
type Updated<View> = View & { changes: string[] };

/** A deletion's data: which resource went. */
interface Deleted {
  id: string;
}

/** Data of `Approval Requested`: the deployment, who may decide, how many approvals it needs, until when. */
type ApprovalRequestData = DeploymentEventData & {
  approval_id: string;
  links: { approve: string };
  approver_teams: string[];
  minimum_approvals: number;
  expires_at: string;
};

/** Data of a vote on an approval (granted, rejected, or one vote of several). */
interface ApprovalVoteData {
  approval_id: string;
  deployment_id: string;
  app_name: string;
  env: string;
  image: string;
  decision: 'approve' | 'reject';
  comment?: string;
  approvals: number;
  minimum_approvals: number;
  /** The chat platform the vote came from (issue 13); absent for the API. */
  via?: ChatKind;
}

/** Data of every `Pipeline Run …` event: which commit of which pipeline, where it stands, its link. */
type RunEventData = Pick<RunView, 'pipeline_id' | 'pipeline_name' | 'app_id' | 'app_name' | 'state' | 'url'> & {
  run_id: string;
  commit: Pick<RunView['commit'], 'sha' | 'ref'>;
  requested_by: string;
  image?: string;
  reason?: string;
  retry_of?: string;
};

/** Data of `Git … Received`: which delivery of which endpoint to dispatch (its payload stays in the table). */
interface GitReceivedData {
  hook_id: string;
  app_id: string;
  delivery_id: string;
  /** The delivery's id, or a replay's own: the runs a dispatch starts are counted under it. */
  dispatch_id: string;
  ref: string;
  sha: string;
  replay?: boolean;
}

/** Data of `Schedule Fired` and `Schedule Failed`: which schedule, which fire, and what came of it. */
type FireEventData = FireView & {
  schedule_id: string;
  schedule_name: string;
  app_id: string;
  app_name: string;
  env: string;
  action: ScheduleRecord['action']['type'];
  owner: string;
  /** The deployment's status page (fired), or the schedule's fire history (failed, missed). */
  url: string;
};

/** Data of `Freeze Started` and `Freeze Ended`: which freeze, where, and the interval that opened or closed. */
interface FreezeIntervalData {
  freeze_id: string;
  name: string;
  scope: string;
  starts_at: string;
  ends_at: string;
  allow_rollbacks: boolean;
}

/**
 * Data of `Freeze Overridden`: someone went past a freeze in force, with `freeze.override`. Either
 * a deployment went ahead (`deploy`, `rollback`: the deployment's fields, and the reason given), or
 * the freeze itself was changed or deleted while in force (`update`, `delete`).
 */
interface FreezeOverriddenData {
  action: 'deploy' | 'rollback' | 'update' | 'delete';
  freeze: { id: string; name: string; scope: string; ends_at: string };
  by: string;
  reason?: string;
  deployment_id?: string;
  app_name?: string;
  env?: string;
  image?: string;
  url?: string;
}

/** Data of `Chat Link Created|Removed`: the link (shared/chat/links.ts ChatLinkView, kept here so events import no use case). */
interface ChatLinkData {
  id: string;
  sub: string;
  platform: ChatKind;
  tenant: string;
  user: string;
  linked_at: string;
}

/** One entry: the source a type is published under, and the shape of its data (for the type checker only). */
interface Entry<Source extends `slipway.${string}`, Data> {
  readonly source: Source;
  readonly data?: Data;
}
const from =
  <Source extends `slipway.${string}`>(source: Source) =>
  <Data>(): Entry<Source, Data> => ({ source });
const catalog = from('slipway.catalog');
const iam = from('slipway.iam');
const deployments = from('slipway.deployments');
const approvals = from('slipway.approvals');
const audit = from('slipway.audit');
const builds = from('slipway.builds');
const pipelines = from('slipway.pipelines');
const hooks = from('slipway.hooks');
const calendar = from('slipway.calendar');

export const CHANGE_EVENTS = {
  'Project Created': catalog<ProjectView>(),
  'Project Updated': catalog<Updated<ProjectView>>(),
  'Project Deleted': catalog<Deleted>(),
  'Application Created': catalog<AppView>(),
  'Application Updated': catalog<Updated<AppView>>(),
  'Application Deleted': catalog<Deleted>(),
  'Environment Created': catalog<EnvView>(),
  'Environment Updated': catalog<Updated<EnvView>>(),
  /** `id` is the environment's name, unique within its app. */
  'Environment Deleted': catalog<Deleted & { app_id: string }>(),
  'Cluster Created': catalog<ClusterView>(),
  'Cluster Updated': catalog<Updated<ClusterView>>(),
  'Cluster Deleted': catalog<Deleted>(),

  'User Registered': iam<UserView>(),
  'User Updated': iam<Updated<UserView>>(),
  'Team Created': iam<TeamView>(),
  'Team Deleted': iam<Deleted>(),
  'Team Member Added': iam<MemberView>(),
  'Team Member Removed': iam<{ team_id: string; user_id: string }>(),
  'Role Bound': iam<BindingView>(),
  'Binding Deleted': iam<Deleted>(),
  /** A chat identity proved with a link code now acts as this user (shared/chat/links.ts). */
  'Chat Link Created': iam<ChatLinkData>(),
  'Chat Link Removed': iam<ChatLinkData>(),

  'Deployment Queued': deployments<DeploymentEventData>(),
  'Deployment Waiting For Approval': deployments<DeploymentEventData>(),
  'Deployment Started': deployments<DeploymentEventData>(),
  'Deployment Rolling Back': deployments<DeploymentEventData>(),
  'Deployment Succeeded': deployments<DeploymentEventData>(),
  'Deployment Rolled Back': deployments<DeploymentEventData>(),
  'Deployment Failed': deployments<DeploymentEventData>(),
  'Deployment Rejected': deployments<DeploymentEventData>(),
  'Deployment Expired': deployments<DeploymentEventData>(),
  'Deployment Cancelled': deployments<DeploymentEventData>(),
  'Rollback Queued': deployments<DeploymentEventData>(),
  'Rollback Started': deployments<DeploymentEventData>(),
  'Rollback Succeeded': deployments<DeploymentEventData>(),
  'Rollback Failed': deployments<DeploymentEventData>(),
  'Rollback Rejected': deployments<DeploymentEventData>(),
  'Rollback Cancelled': deployments<DeploymentEventData>(),

  'Approval Requested': approvals<ApprovalRequestData>(),
  'Approval Granted': approvals<ApprovalVoteData>(),
  'Approval Rejected': approvals<ApprovalVoteData>(),
  'Approval Vote Cast': approvals<ApprovalVoteData>(),

  /** Someone asked for an audit checkpoint now (shared/audit/checkpoints.ts); the checkpointer answers it. */
  'Audit Checkpoint Requested': audit<{ reason?: string }>(),

  'Build Started': builds<BuildEventData>(),
  'Build Succeeded': builds<BuildEventData>(),
  'Build Failed': builds<BuildEventData>(),
  'Build Cancelled': builds<BuildEventData>(),

  'Pipeline Created': pipelines<PipelineView>(),
  'Pipeline Updated': pipelines<Updated<PipelineView>>(),
  'Pipeline Deleted': pipelines<Deleted & { app_id: string }>(),
  'Pipeline Run Started': pipelines<RunEventData>(),
  'Pipeline Run Succeeded': pipelines<RunEventData>(),
  'Pipeline Run Failed': pipelines<RunEventData>(),
  'Pipeline Run Cancelled': pipelines<RunEventData>(),

  'Webhook Created': hooks<WebhookView>(),
  'Webhook Deleted': hooks<Deleted & { app_id: string }>(),
  'Webhook Secret Rotated': hooks<WebhookView>(),
  /** A verified push or tag push, stored; the hook dispatcher starts the runs it triggers. */
  'Git Push Received': hooks<GitReceivedData>(),
  /** A verified pull/merge request, stored; the hook dispatcher starts the build-only runs it triggers. */
  'Git Pull Request Received': hooks<GitReceivedData>(),

  'Schedule Created': calendar<ScheduleRecord>(),
  'Schedule Updated': calendar<Updated<ScheduleRecord>>(),
  'Schedule Deleted': calendar<Deleted & { app_id: string }>(),
  /** A fire made its deployment (whose own events follow). */
  'Schedule Fired': calendar<FireEventData>(),
  /** A fire made no deployment: its owner may no longer act, the environment is frozen, or it came too late (missed). */
  'Schedule Failed': calendar<FireEventData>(),
  'Freeze Created': calendar<FreezeView>(),
  'Freeze Updated': calendar<Updated<FreezeView>>(),
  'Freeze Deleted': calendar<Deleted & { scope: string }>(),
  /** Told once per window by freeze-watch, within a minute of the instant. */
  'Freeze Started': calendar<FreezeIntervalData>(),
  'Freeze Ended': calendar<FreezeIntervalData>(),
  'Freeze Overridden': calendar<FreezeOverriddenData>(),
  /** A project's chat channels (shared/chat/channels.ts): the view only, never the URL or the secret. */
  'Channel Created': catalog<ChannelView>(),
  'Channel Updated': catalog<Updated<ChannelView>>(),
  'Channel Deleted': catalog<Deleted>(),
};

/** A change event's detail-type, e.g. `Deployment Succeeded`. */
export type ChangeEventType = keyof typeof CHANGE_EVENTS;

/** The data an event of this type carries. */
export type ChangeEventData<Type extends ChangeEventType> = NonNullable<(typeof CHANGE_EVENTS)[Type]['data']>;

/** The source a type is published under (the bus rules match on it). */
export type SourceOf<Type extends ChangeEventType> = (typeof CHANGE_EVENTS)[Type]['source'];

/** The types a deployment's moves record (shared/delivery/progress.ts). */
export type DeploymentEventType = {
  [Type in ChangeEventType]: SourceOf<Type> extends 'slipway.deployments' ? Type : never;
}[ChangeEventType];

/** The types a build's moves record (shared/builds/progress.ts). */
export type BuildEventType = {
  [Type in ChangeEventType]: SourceOf<Type> extends 'slipway.builds' ? Type : never;
}[ChangeEventType];

/** The types a run's moves record (shared/pipelines/progress.ts). */
export type RunEventType = Extract<ChangeEventType, `Pipeline Run ${string}`>;

/** A type read off the bus may be newer than this code (its producer was deployed first). */
export const isChangeEventType = (type: string): type is ChangeEventType => Object.hasOwn(CHANGE_EVENTS, type);
