/**
 * Change events as chat messages. Deployment and approval events are what people watch a channel
 * for; catalog and IAM changes belong to the audit log, so they render to nothing. Event data comes
 * from other functions and may lack fields: every read is defensive and every value is cut to one
 * short line (it lands in someone's chat).
 */

import { config } from '../config.ts';
import { type ChangeEventType, isChangeEventType } from '../events/catalog.ts';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import type { ChatMessage, Severity } from './channels.ts';

type Data = Record<string, unknown>;

interface Deploy {
  app: string;
  env: string;
  image?: string;
  revision?: string;
  reason?: string;
  actor: string;
  url?: string;
  /** A deployment that went ahead during a freeze: said in every message about it. */
  override?: string;
}

/** What one event type says: a title, a sentence, and its severity. */
interface Wording {
  severity: Severity;
  title: (d: Deploy) => string;
  text: (d: Deploy) => string;
}

const deploymentWording = {
  'Deployment Queued': {
    severity: 'info',
    title: (d) => `Deploy queued: ${d.app} to ${d.env}`,
    text: (d) => `${d.actor} queued ${image(d)}.`,
  },
  'Deployment Started': {
    severity: 'info',
    title: (d) => `Deploying ${d.app} to ${d.env}`,
    text: (d) => `Rolling out ${image(d)}.`,
  },
  'Deployment Waiting For Approval': {
    severity: 'warning',
    title: (d) => `Waiting for approval: ${d.app} to ${d.env}`,
    text: (d) => `${capitalize(image(d))} needs approval before it rolls out to ${d.env}.`,
  },
  'Deployment Succeeded': {
    severity: 'success',
    title: (d) => `Deployed ${d.app} to ${d.env}`,
    text: (d) => `${capitalize(image(d))} is live in ${d.env}.`,
  },
  'Deployment Failed': {
    severity: 'failure',
    title: (d) => `Deploy failed: ${d.app} to ${d.env}`,
    text: (d) => `${capitalize(image(d))} did not roll out.`,
  },
  'Deployment Rolled Back': {
    severity: 'warning',
    title: (d) => `Rolled back ${d.app} in ${d.env}`,
    text: (d) => `${d.env} is back on ${d.revision ? `revision ${code(d.revision)}` : 'the previous revision'}.`,
  },
  'Deployment Expired': {
    severity: 'warning',
    title: (d) => `Deploy expired: ${d.app} to ${d.env}`,
    text: (d) => `No approval came in time for ${image(d)}; nothing was deployed.`,
  },
  'Deployment Rejected': {
    severity: 'failure',
    title: (d) => `Deploy rejected: ${d.app} to ${d.env}`,
    text: (d) => `${d.actor} rejected ${image(d)}; nothing was deployed.`,
  },
  'Approval Granted': {
    severity: 'success',
    title: (d) => `Approved: ${d.app} to ${d.env}`,
    text: (d) => `${d.actor} approved ${image(d)}.`,
  },
  'Approval Rejected': {
    severity: 'failure',
    title: (d) => `Approval rejected: ${d.app} to ${d.env}`,
    text: (d) => `${d.actor} rejected ${image(d)}.`,
  },
  'Rollback Started': {
    severity: 'warning',
    title: (d) => `Rolling back ${d.app} in ${d.env}`,
    text: (d) => `Returning ${d.env} to ${d.revision ? `revision ${code(d.revision)}` : 'the previous revision'}.`,
  },
} satisfies Partial<Record<ChangeEventType, Wording>>;

/** What an event type says in chat: its wording, a message of its own, or null (deliberately nothing). */
type ChatLine = Wording | ((event: ReceivedChangeEvent, data: Data) => ChatMessage) | null;

/**
 * Every event type's chat line, so a new type does not compile until someone decides what it says.
 * Deployment and approval types without wording of their own get the generic line; catalog and
 * IAM changes belong to the audit log.
 */
export const chatLines: { readonly [Type in ChangeEventType]: ChatLine } = {
  ...deploymentWording,
  'Approval Requested': approvalRequested,
  'Approval Vote Cast': genericMessage,
  'Deployment Rolling Back': genericMessage,
  'Deployment Cancelled': genericMessage,
  'Rollback Queued': genericMessage,
  'Rollback Succeeded': genericMessage,
  'Rollback Failed': genericMessage,
  'Rollback Rejected': genericMessage,
  'Rollback Cancelled': genericMessage,
  'Webhook Created': null,
  'Webhook Deleted': null,
  'Webhook Secret Rotated': null,
  // The runs a delivery starts say so themselves.
  'Git Push Received': null,
  'Git Pull Request Received': null,
  // A project's channel settings are the audit log's business, not the channel's.
  'Channel Created': null,
  'Channel Updated': null,
  'Channel Deleted': null,
  'Project Created': null,
  'Project Updated': null,
  'Project Deleted': null,
  'Application Created': null,
  'Application Updated': null,
  'Application Deleted': null,
  'Environment Created': null,
  'Environment Updated': null,
  'Environment Deleted': null,
  'Cluster Created': null,
  'Cluster Updated': null,
  'Cluster Deleted': null,
  'User Registered': null,
  'User Updated': null,
  'Team Created': null,
  'Team Deleted': null,
  'Team Member Added': null,
  'Team Member Removed': null,
  'Chat Link Created': null,
  'Chat Link Removed': null,
  'Role Bound': null,
  'Binding Deleted': null,
  'Audit Checkpoint Requested': null,
  // A failed build is what its author must hear about; the rest is in the audit log and the build's page.
  'Build Failed': buildFailed,
  'Build Started': null,
  'Build Succeeded': null,
  'Build Cancelled': null,
  // A run's deployments speak for themselves; what a channel needs from the run is that it failed.
  'Pipeline Run Failed': runFailed,
  'Pipeline Run Started': null,
  'Pipeline Run Succeeded': null,
  'Pipeline Run Cancelled': null,
  'Pipeline Created': null,
  'Pipeline Updated': null,
  'Pipeline Deleted': null,
  // A fire that made no deployment is what the schedule's people must hear; one that did shows as its deployment.
  'Schedule Failed': scheduleFailed,
  'Schedule Fired': null,
  'Schedule Created': null,
  'Schedule Updated': null,
  'Schedule Deleted': null,
  // Freezes opening and closing, and every override, are what a channel must hear; edits are audit's.
  'Freeze Created': null,
  'Freeze Updated': null,
  'Freeze Deleted': null,
  'Freeze Started': freezeInterval,
  'Freeze Ended': freezeInterval,
  'Freeze Overridden': freezeOverridden,
};

/** Sources whose unknown event types still get a generic line (new workflow steps should not go silent). */
const chattySources = new Set(['slipway.deployments', 'slipway.approvals']);

export function renderMessage(event: ReceivedChangeEvent): ChatMessage | undefined {
  const data: Data = isObject(event.data) ? event.data : {};
  // A type newer than this notifier (its producer was deployed first).
  if (!isChangeEventType(event.type)) return chattySources.has(event.source) ? genericMessage(event, data) : undefined;
  const chatLine = chatLines[event.type];
  if (chatLine === null) return undefined;
  if (typeof chatLine === 'function') return chatLine(event, data);
  return deploymentMessage(event, deployOf(event, data), chatLine);
}

function genericMessage(event: ReceivedChangeEvent, data: Data): ChatMessage {
  return deploymentMessage(event, deployOf(event, data), {
    severity: 'info',
    title: (d) => `${line(event.type)}: ${d.app} in ${d.env}`,
    text: () => `${line(event.subject)} changed.`,
  });
}

function deploymentMessage(event: ReceivedChangeEvent, d: Deploy, wording: Wording): ChatMessage {
  const text = [wording.text(d), d.reason ? `Reason: ${d.reason}` : undefined, d.override].filter(Boolean).join('\n');
  return {
    title: wording.title(d),
    text,
    severity: wording.severity,
    fields: present([
      ['Image', d.image],
      ['Revision', d.revision],
      ['By', d.actor],
    ]),
    ...(d.url ? { link: { label: 'Open deployment', url: d.url } } : {}),
    footer: footer(event),
  };
}

function approvalRequested(event: ReceivedChangeEvent, data: Data): ChatMessage {
  const d = deployOf(event, data);
  const requester = text(data.requested_by) ?? d.actor;
  const teams = Array.isArray(data.approver_teams) ? data.approver_teams.map(text).filter(Boolean).join(', ') : '';
  const needed = typeof data.minimum_approvals === 'number' ? data.minimum_approvals : undefined;
  const expires = instant(data.expires_at);
  const count = needed === undefined ? 'approval' : `${needed} approval${needed === 1 ? '' : 's'}`;
  const url = approvalLink(data.links) ?? d.url;
  return {
    title: `Approval needed: ${d.app} to ${d.env}`,
    text: `${requester} asks to deploy ${image(d)}.\nNeeds ${count}${teams ? ` from ${teams}` : ''}${expires ? ` before ${expires}` : ''}.`,
    severity: 'warning',
    fields: present([
      ['Image', d.image],
      ['Requested by', requester],
      ['Approvers', teams || undefined],
      ['Approvals needed', needed === undefined ? undefined : String(needed)],
      ['Expires', expires],
      ['Approval', text(data.approval_id)],
    ]),
    ...(url ? { link: { label: 'Review approval', url } } : {}),
    footer: footer(event),
  };
}

function runFailed(event: ReceivedChangeEvent, data: Data): ChatMessage {
  const commit: Data = isObject(data.commit) ? data.commit : {};
  const pipeline = text(data.pipeline_name) ?? 'a pipeline';
  const app = text(data.app_name) ?? text(data.app_id) ?? 'an app';
  const sha = text(commit.sha)?.slice(0, 12);
  const ref = text(commit.ref)?.replace(/^refs\/(heads|tags)\//, '');
  const reason = text(data.reason);
  const url = webUrl(data.url);
  return {
    title: `Pipeline failed: ${pipeline} of ${app}`,
    text: [
      `${sha ? `Commit ${code(sha)}` : 'The commit'}${ref ? ` on ${code(ref)}` : ''} did not get through.`,
      reason ? `Reason: ${reason}` : undefined,
    ]
      .filter(Boolean)
      .join('\n'),
    severity: 'failure',
    fields: present([
      ['Commit', sha],
      ['Ref', ref],
      ['Started by', text(data.requested_by)],
      ['Run', text(data.run_id)],
    ]),
    ...(url ? { link: { label: 'Open run', url } } : {}),
    footer: footer(event),
  };
}

function buildFailed(event: ReceivedChangeEvent, data: Data): ChatMessage {
  const app = text(data.app_name) ?? text(data.app_id) ?? 'an app';
  const commit = isObject(data.commit) ? data.commit : {};
  const sha = text(commit.sha)?.slice(0, 12);
  const ref = text(commit.ref);
  const reason = text(data.reason);
  const url = webUrl(data.url);
  return {
    title: `Build failed: ${app}${ref ? ` on ${ref}` : ''}`,
    text: [`${sha ? `Commit ${code(sha)}` : 'The commit'} did not build.`, reason ? `Reason: ${reason}` : undefined]
      .filter(Boolean)
      .join('\n'),
    severity: 'failure',
    fields: present([
      ['Image', text(data.image)],
      ['Requested by', text(data.requested_by) ?? line(event.actor)],
      ['Build', text(data.build_id)],
    ]),
    ...(url ? { link: { label: 'Open build log', url } } : {}),
    footer: footer(event),
  };
}

function scheduleFailed(event: ReceivedChangeEvent, data: Data): ChatMessage {
  const d = deployOf(event, data);
  const schedule = text(data.schedule_name) ?? text(data.schedule_id) ?? 'A schedule';
  const when = instant(data.fire_time);
  const missed = data.outcome === 'missed';
  return {
    title: `Scheduled ${text(data.action) ?? 'action'} ${missed ? 'missed' : 'failed'}: ${d.app} in ${d.env}`,
    text: [
      `${schedule}${when ? ` (due ${when})` : ''} made no deployment.`,
      d.reason ? `Reason: ${d.reason}` : undefined,
    ]
      .filter(Boolean)
      .join('\n'),
    severity: missed ? 'warning' : 'failure',
    fields: present([
      ['Schedule', text(data.schedule_id)],
      ['Acts as', text(data.owner)],
    ]),
    ...(d.url ? { link: { label: 'Open fire history', url: d.url } } : {}),
    footer: footer(event),
  };
}

function freezeInterval(event: ReceivedChangeEvent, data: Data): ChatMessage {
  const name = text(data.name) ?? 'A freeze';
  const scope = text(data.scope) ?? 'the platform';
  const started = event.type === 'Freeze Started';
  const ends = instant(data.ends_at);
  return {
    title: started ? `Freeze started: ${name}` : `Freeze ended: ${name}`,
    text: started
      ? `Deploys to ${scope} are frozen${ends ? ` until ${ends}` : ''}.${data.allow_rollbacks === false ? ' Rollbacks too.' : ' Rollbacks are allowed.'}`
      : `Deploys to ${scope} are open again.`,
    severity: started ? 'warning' : 'success',
    fields: present([
      ['Scope', scope],
      ['Ends', started ? ends : undefined],
    ]),
    footer: footer(event),
  };
}

function freezeOverridden(event: ReceivedChangeEvent, data: Data): ChatMessage {
  const freeze: Data = isObject(data.freeze) ? data.freeze : {};
  const name = text(freeze.name) ?? 'a freeze';
  const by = text(data.by) ?? line(event.actor);
  const reason = text(data.reason);
  const deploying = data.action === 'deploy' || data.action === 'rollback';
  const what = deploying
    ? `${data.action === 'rollback' ? 'rolls back' : 'deploys'} ${text(data.image) ? code(text(data.image) as string) : 'an image'} to ${text(data.app_name) ?? 'an app'} in ${text(data.env) ?? 'an environment'}`
    : `${data.action === 'delete' ? 'deleted' : 'changed'} the freeze while it is in force`;
  const url = webUrl(data.url);
  return {
    title: `Freeze overridden: ${name}`,
    text: [`${by} ${what}.`, reason ? `Reason: ${reason}` : undefined].filter(Boolean).join('\n'),
    severity: 'warning',
    fields: present([
      ['Freeze', name],
      ['Scope', text(freeze.scope)],
      ['Freeze ends', instant(freeze.ends_at)],
      ['By', by],
    ]),
    ...(url ? { link: { label: 'Open deployment', url } } : {}),
    footer: footer(event),
  };
}

/** `Freeze override: <reason> (past "<freeze>")` for a deployment that went ahead during one. */
function overrideOf(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const freeze: Data = isObject(value.freeze) ? value.freeze : {};
  const reason = text(value.reason);
  const name = text(freeze.name);
  return `Freeze override${name ? ` past ${name}` : ''}${text(value.by) ? ` by ${text(value.by)}` : ''}${reason ? `: ${reason}` : ''}`;
}

function deployOf(event: ReceivedChangeEvent, data: Data): Deploy {
  return {
    override: overrideOf(data.freeze_override),
    app: text(data.app_name) ?? text(data.app_id) ?? 'an app',
    env: text(data.env) ?? text(data.env_name) ?? 'an environment',
    image: text(data.image),
    revision: text(data.revision),
    reason: text(data.reason),
    actor: text(data.actor) ?? line(event.actor),
    url: webUrl(data.url),
  };
}

/** `links` may be a URL or an object of named URLs; the approver wants the page where they decide. */
function approvalLink(links: unknown): string | undefined {
  if (!isObject(links)) return webUrl(links);
  for (const name of ['approve', 'review', 'html', 'web', 'self']) {
    const url = webUrl(links[name]);
    if (url) return url;
  }
  return undefined;
}

const footer = (event: ReceivedChangeEvent) =>
  `Slipway · ${line(event.subject)} · ${instant(event.time) ?? line(event.time)}`;

const image = (d: Deploy) => (d.image ? code(d.image) : 'the new image');

const capitalize = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);

/** Inline code that cannot be broken out of. */
export const code = (value: string) => `\`${value.replace(/`/g, "'")}\``;

/** One short line: chat is not the place for a stack trace. */
export function line(value: string): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 299)}…` : flat;
}

export function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  return line(value) || undefined;
}

/**
 * Only the platform's own pages are links (ADR 17): events carry API paths
 * (`/api/v1/deployments/…/status`), which become links on SLIPWAY_PUBLIC_URL (where people reach
 * the API); an absolute URL counts only on that origin. Without a public URL there is no button.
 */
export function webUrl(value: unknown): string | undefined {
  const base = config.publicUrl;
  if (typeof value !== 'string' || value.length > 2048 || !base) return undefined;
  try {
    const url = new URL(value, base);
    return url.origin === new URL(base).origin ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** `2026-11-20 14:03 UTC`, or undefined for anything that is not an instant. */
export function instant(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function present(fields: [string, string | undefined][]): [string, string][] {
  return fields.filter((field): field is [string, string] => field[1] !== undefined);
}

function isObject(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
