/**
 * Slack: interactive components (`block_actions`, form field `payload`) and slash commands (form
 * fields), both signed with the app's signing secret. A slash command's answer is its ephemeral
 * reply; a button's reply also goes to its `response_url` (Slack ignores a block_actions answer body).
 */

import type { ChatApps } from '../../shared/chat/apps.ts';
import type { ChatReply } from '../../shared/chat/callbacks.ts';
import { verifySlack } from '../../shared/chat/verify/slack.ts';
import { invalid } from '../../shared/errors.ts';
import type { HttpRequest } from '../../shared/http/kernel.ts';
import { unauthorized } from '../../shared/http/problem.ts';
import { json } from '../../shared/http/response.ts';
import { logger } from '../../shared/logger.ts';
import { safePost } from '../../shared/notify/safe-fetch.ts';
import { jsonObject, type Opened, str } from './opened.ts';

const ephemeral = (reply: ChatReply) => json(200, { response_type: 'ephemeral', text: reply.text });

function verified(req: HttpRequest, app: ChatApps['slack'], nowMs: number): URLSearchParams {
  const body = req.text ?? '';
  const ok =
    app &&
    verifySlack({
      signingSecret: app.signing_secret,
      timestamp: req.header('x-slack-request-timestamp'),
      signature: req.header('x-slack-signature'),
      body,
      nowMs,
    });
  if (!ok) throw unauthorized('The request is not signed by the Slack app, or its timestamp is stale.');
  return new URLSearchParams(body);
}

export function openSlackInteraction(req: HttpRequest, app: ChatApps['slack'], nowMs: number): Opened {
  const payload = jsonObject(verified(req, app, nowMs).get('payload') ?? undefined);
  const user = payload?.user as Record<string, unknown> | undefined;
  const team = payload?.team as Record<string, unknown> | undefined;
  const action = (payload?.actions as Record<string, unknown>[] | undefined)?.[0];
  const decision = action?.action_id;
  const approvalId = str(action?.value);
  const tenant = str(team?.id) ?? str(user?.team_id);
  const userId = str(user?.id);
  if (
    payload?.type !== 'block_actions' ||
    !tenant ||
    !userId ||
    !approvalId ||
    (decision !== 'approve' && decision !== 'reject')
  ) {
    throw invalid('Expected a block_actions payload with an approve or reject action.');
  }
  const responseUrl = str(payload.response_url);
  // The card's comment input (block and action `comment`, approval-card.ts): Slack sends what was typed in `state`.
  const typed = (payload.state as { values?: { comment?: { comment?: { value?: unknown } } } } | undefined)?.values
    ?.comment?.comment?.value;
  return {
    kind: 'callback',
    callback: {
      platform: 'slack',
      // Slack's retries repeat the interaction as it was: its trigger is the same.
      id: str(payload.trigger_id) ?? `${userId}:${str(action?.action_ts)}`,
      identity: { platform: 'slack', tenant, user: userId },
      action: { kind: 'decide', approvalId, decision, comment: str(typed) },
      requestId: req.requestId,
    },
    respond: async (reply) => {
      if (responseUrl) await tellPrivately(responseUrl, reply);
      return ephemeral(reply);
    },
  };
}

export function openSlackCommand(req: HttpRequest, app: ChatApps['slack'], nowMs: number): Opened {
  const form = verified(req, app, nowMs);
  const tenant = str(form.get('team_id'));
  const user = str(form.get('user_id'));
  if (!tenant || !user) throw invalid('Expected a slash command with team_id and user_id.');
  return {
    kind: 'callback',
    callback: {
      platform: 'slack',
      id: str(form.get('trigger_id')) ?? `${user}:${req.header('x-slack-request-timestamp')}`,
      identity: { platform: 'slack', tenant, user },
      action: { kind: 'command', text: (form.get('text') ?? '').slice(0, 2000) },
      requestId: req.requestId,
    },
    respond: ephemeral,
  };
}

/** Only Slack's own host: a response_url is data from the request, never a place we were told to trust. */
async function tellPrivately(url: string, reply: ChatReply): Promise<void> {
  await safePost(
    url,
    { response_type: 'ephemeral', replace_original: false, text: reply.text },
    { allowedHosts: ['hooks.slack.com'], timeoutMs: 1000 },
  ).catch((error: unknown) => logger.warn('Slack response_url refused the reply', { error: String(error) }));
}
