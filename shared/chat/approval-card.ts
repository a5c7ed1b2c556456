/**
 * The interactive approval message (ADR 31): one platform-neutral card built from the approval as
 * stored, then one renderer per platform. The card is rendered from the current state every time
 * (never patched from an event), so any event, in any order, shows the same thing. Escaping is the
 * notifier's (ADR 17): what people wrote stays text; only the public URL is a link.
 */
import type { ApprovalView, Vote } from '../delivery/approvals.ts';
import type { DeploymentView } from '../delivery/model.ts';
import type { Release } from '../delivery/releases.ts';
import {
  type ChatMessage,
  clip,
  clipBytes,
  feishuPayload,
  heading,
  markdownBody,
  markdownText,
  type Severity,
  slackPayload,
  weComPayload,
} from '../notify/channels.ts';
import { code, instant, line, webUrl } from '../notify/render.ts';

export interface ApprovalCard {
  id: string;
  /** The approval's version: a message shows one version, and is only ever replaced by a later one. */
  version: number;
  state: ApprovalView['state'];
  kind: DeploymentView['kind'];
  app: string;
  env: string;
  image: string;
  requestedBy: string;
  replicas?: number;
  /** The release running there now; none for a first deploy. */
  current?: Pick<Release, 'image' | 'replicas' | 'revision'>;
  needed: number;
  votes: (Vote & { via?: string })[];
  expiresAt: string;
  /** How an expired or cancelled approval ended (the deployment's step: who, when, why). */
  closed?: { by: string; at: string; detail?: string };
  /** The approval's page on the public URL, if there is one. */
  url?: string;
}

export type Decision = 'approve' | 'reject';

/** The card of an approval, its deployment (for replicas and how it ended) and the environment's release head. */
export function approvalCard(
  approval: ApprovalView,
  deployment?: Pick<DeploymentView, 'kind' | 'replicas' | 'steps'>,
  current?: Release,
): ApprovalCard {
  const closingStep =
    approval.state === 'expired' || approval.state === 'cancelled'
      ? deployment?.steps.findLast((step) => step.state === approval.state)
      : undefined;
  const url = webUrl(`/api/v1/approvals/${approval.id}`);
  return {
    id: approval.id,
    version: approval.version,
    state: approval.state,
    kind: deployment?.kind ?? 'deploy',
    app: approval.app_name,
    env: approval.env,
    image: approval.image,
    requestedBy: approval.requested_by,
    ...(deployment?.replicas === undefined ? {} : { replicas: deployment.replicas }),
    ...(current ? { current: { image: current.image, replicas: current.replicas, revision: current.revision } } : {}),
    needed: approval.minimum_approvals,
    votes: approval.votes,
    expiresAt: approval.expires_at,
    ...(closingStep
      ? {
          closed: {
            by: closingStep.actor,
            at: closingStep.at,
            ...(closingStep.detail ? { detail: closingStep.detail } : {}),
          },
        }
      : {}),
    ...(url ? { url } : {}),
  };
}

const isOpen = (card: ApprovalCard) => card.state === 'pending';

const outcome: Record<ApprovalCard['state'], { title: string; severity: Severity }> = {
  pending: { title: 'Approval needed', severity: 'warning' },
  approved: { title: 'Approved', severity: 'success' },
  rejected: { title: 'Rejected', severity: 'failure' },
  expired: { title: 'Expired', severity: 'warning' },
  cancelled: { title: 'Cancelled', severity: 'info' },
};

const platformName: Record<string, string> = { slack: 'Slack', feishu: 'Feishu', dingtalk: 'DingTalk', wecom: 'WeCom' };

/** `approved by bob via Slack at 2026-11-20 14:03 UTC: “ship it”` */
function voteLine(vote: ApprovalCard['votes'][number]): string {
  const how = vote.via ? `via ${platformName[vote.via] ?? line(vote.via)}` : 'via the API';
  const what = vote.decision === 'approve' ? '✔ Approved' : '✖ Rejected';
  const said = vote.comment ? `: “${line(vote.comment)}”` : '';
  return `${what} by ${line(vote.by)} ${how} at ${instant(vote.at) ?? line(vote.at)}${said}`;
}

/** The diff from what runs there now: image and replicas. */
function diffLines(card: ApprovalCard): string[] {
  if (!card.current) return [`Image: ${code(card.image)} (first release of ${card.env})`];
  const image =
    card.current.image === card.image
      ? `Image: ${code(card.image)} (unchanged)`
      : `Image: ${code(card.current.image)} → ${code(card.image)}`;
  const replicas =
    card.replicas === undefined || card.replicas === card.current.replicas
      ? `Replicas: ${card.current.replicas} (unchanged)`
      : `Replicas: ${card.current.replicas} → ${card.replicas}`;
  return [image, replicas];
}

/** What every platform shows, as the notifier's one message shape (so its escaping applies). */
export function approvalMessage(card: ApprovalCard): ChatMessage {
  const given = card.votes.filter((vote) => vote.decision === 'approve').length;
  const verb = card.kind === 'rollback' ? 'roll back to' : 'deploy';
  const lines = [
    `${line(card.requestedBy)} asks to ${verb} ${code(card.image)} on ${line(card.env)}.`,
    ...diffLines(card),
    `Approvals: ${given} of ${card.needed}`,
    ...card.votes.map(voteLine),
  ];
  if (card.closed) {
    const why = card.closed.detail ? `: ${line(card.closed.detail)}` : '';
    const by = card.state === 'expired' ? '' : ` by ${line(card.closed.by)}`;
    lines.push(`${outcome[card.state].title}${by} at ${instant(card.closed.at) ?? line(card.closed.at)}${why}`);
  }
  if (isOpen(card)) lines.push(`Decide before ${instant(card.expiresAt) ?? line(card.expiresAt)}.`);
  return {
    title: `${outcome[card.state].title}: ${line(card.app)} to ${line(card.env)}`,
    text: lines.join('\n'),
    severity: outcome[card.state].severity,
    fields: [
      ['Requested by', line(card.requestedBy)],
      ['Approvals', `${given} of ${card.needed}`],
      ['Approval', card.id],
    ],
    ...(card.url ? { link: { label: 'Open in Slipway', url: card.url } } : {}),
    footer: `Slipway · approval/${card.id}`,
  };
}

const label = { approve: 'Approve', reject: 'Reject' } as const;

/**
 * Slack Block Kit: the notifier's blocks, plus (while pending) a comment input and Approve/Reject
 * buttons. Callbacks read `actions[0].action_id` (`approve`|`reject`), `actions[0].value` (the
 * approval id) and `state.values.comment.comment.value`.
 */
export function slackApprovalMessage(card: ApprovalCard) {
  const { text, blocks } = slackPayload(approvalMessage(card));
  if (!isOpen(card)) return { text, blocks };
  const button = (decision: Decision) => ({
    type: 'button',
    action_id: decision,
    text: { type: 'plain_text', text: label[decision] },
    style: decision === 'approve' ? 'primary' : 'danger',
    value: card.id,
  });
  const comment = {
    type: 'input',
    block_id: 'comment',
    optional: true,
    label: { type: 'plain_text', text: 'Comment (say why when you reject)' },
    element: { type: 'plain_text_input', action_id: 'comment', multiline: true, max_length: 1000 },
  };
  const decide = { type: 'actions', block_id: `approval:${card.id}`, elements: [button('approve'), button('reject')] };
  const footer = blocks.length - 1;
  return { text, blocks: [...blocks.slice(0, footer), comment, decide, ...blocks.slice(footer)] };
}

/**
 * Feishu/Lark: the notifier's card, shared (`update_multi`, which PATCH requires), with a form of a
 * comment input and two submit buttons while pending. Callbacks read `action.value`
 * (`{ action, approval_id }`) and `action.form_value.comment`.
 */
export function feishuApprovalCard(card: ApprovalCard) {
  const base = feishuPayload(approvalMessage(card)).card;
  const config = { ...base.config, update_multi: true };
  if (!isOpen(card)) return { ...base, config };
  const button = (decision: Decision) => ({
    tag: 'button',
    name: decision,
    action_type: 'form_submit',
    text: { tag: 'plain_text', content: label[decision] },
    type: decision === 'approve' ? 'primary' : 'danger',
    value: { action: decision, approval_id: card.id },
  });
  const form = {
    tag: 'form',
    name: 'decision',
    elements: [
      {
        tag: 'input',
        name: 'comment',
        max_length: 1000,
        placeholder: { tag: 'plain_text', content: 'Comment (say why when you reject)' },
      },
      button('approve'),
      button('reject'),
    ],
  };
  const footer = base.elements.length - 1;
  return { ...base, config, elements: [...base.elements.slice(0, footer), form, ...base.elements.slice(footer)] };
}

/**
 * DingTalk's robot interactive card (StandardCard, the template-free kind): markdown body and, while
 * pending, two `request` buttons whose callback carries the button id and `params.approval_id`.
 * There is no input on it: a rejection's reason is given on the approval's page (its link).
 */
export function dingTalkApprovalCard(card: ApprovalCard) {
  const message = approvalMessage(card);
  const contents: unknown[] = [{ type: 'markdown', id: 'body', text: clip(markdownBody(message, '\n\n'), 5000) }];
  const actions: unknown[] = isOpen(card)
    ? (['approve', 'reject'] as const).map((decision) => ({
        type: 'button',
        id: decision,
        label: { type: 'text', text: label[decision], id: `${decision}-label` },
        actionType: 'request',
        status: decision === 'approve' ? 'primary' : 'warning',
        params: { action: decision, approval_id: card.id },
      }))
    : [];
  if (message.link) {
    actions.push({
      type: 'button',
      id: 'open',
      label: { type: 'text', text: message.link.label, id: 'open-label' },
      actionType: 'openLink',
      url: { all: message.link.url },
      status: 'normal',
    });
  }
  if (actions.length > 0) contents.push({ type: 'action', id: 'actions', actions });
  return {
    config: { autoLayout: true, enableForward: false },
    header: { title: { type: 'text', text: clip(heading(message), 100) } },
    contents,
  };
}

/**
 * WeCom's app message: a `button_interaction` template card while pending (button keys
 * `approve:<id>` and `reject:<id>`; no input, so a reason goes on the approval's page). WeCom can
 * only replace a card with the `response_code` of a click on it, so later states are follow-ups.
 */
export function weComApprovalCard(card: ApprovalCard, taskId: string) {
  const message = approvalMessage(card);
  const given = card.votes.filter((vote) => vote.decision === 'approve').length;
  const facts: [string, string][] = [
    ['App', `${card.app} → ${card.env}`],
    ['Image', card.image],
    ['Current', card.current ? `${card.current.image} ×${card.current.replicas}` : 'first release'],
    ['Replicas', card.replicas === undefined ? '?' : String(card.replicas)],
    ['By', card.requestedBy],
    ['Approvals', `${given} of ${card.needed}`],
  ];
  return {
    card_type: 'button_interaction',
    source: { desc: 'Slipway' },
    main_title: { title: clip(plain(message.title), 36), desc: clip(plain(card.id), 44) },
    sub_title_text: clipBytes(plain(message.text), 1000),
    horizontal_content_list: facts.map(([keyname, value]) => ({ keyname, value: clip(plain(value), 26) })),
    ...(message.link ? { card_action: { type: 1, url: message.link.url } } : { card_action: { type: 0 } }),
    task_id: taskId,
    button_list: (['approve', 'reject'] as const).map((decision) => ({
      text: label[decision],
      style: decision === 'approve' ? 1 : 2,
      key: `${decision}:${card.id}`,
    })),
  };
}

/** A WeCom follow-up: the state as markdown, replying to the card by naming the approval. */
export const weComFollowUp = (card: ApprovalCard) => weComPayload(approvalMessage(card));

/** Template card text is not markdown but is still shown to people: defanged, no markup to escape. */
const plain = (value: string) => markdownText(value);
