/**
 * Feishu/Lark: one request URL for events and card callbacks (schema 2.0). With an Encrypt Key the
 * body is encrypted and signed (both checked); without one, the Verification Token inside is the
 * proof. URL verification answers its challenge; a card button (`card.action.trigger`) decides and
 * its answer is a toast only the clicker sees; a message to the bot (`im.message.receive_v1`) runs
 * the same commands (its reply needs the bot API).
 */

import type { ChatApps } from '../../shared/chat/apps.ts';
import type { ChatAction, ChatReply } from '../../shared/chat/callbacks.ts';
import { decryptFeishu, verifyFeishuSignature, verifyFeishuToken } from '../../shared/chat/verify/feishu.ts';
import { invalid } from '../../shared/errors.ts';
import type { HttpRequest } from '../../shared/http/kernel.ts';
import { unauthorized } from '../../shared/http/problem.ts';
import { json } from '../../shared/http/response.ts';
import { answered, jsonObject, type Opened, str } from './opened.ts';

const refused = () =>
  unauthorized('The request is not from the Feishu app (signature, token or encryption), or it is stale.');

function verified(req: HttpRequest, app: ChatApps['feishu'], nowMs: number): Record<string, unknown> {
  if (!app) throw refused();
  const body = req.text ?? '';
  let payload = jsonObject(body);
  if (app.encrypt_key) {
    const encrypt = typeof payload?.encrypt === 'string' ? payload.encrypt : undefined;
    // The URL verification handshake is encrypted but not signed; everything else is both.
    const signed = verifyFeishuSignature({
      encryptKey: app.encrypt_key,
      timestamp: req.header('x-lark-request-timestamp'),
      nonce: req.header('x-lark-request-nonce'),
      signature: req.header('x-lark-signature'),
      body,
      nowMs,
    });
    payload = encrypt === undefined ? undefined : jsonObject(decryptFeishu(app.encrypt_key, encrypt));
    if (!payload || (!signed && payload.type !== 'url_verification')) throw refused();
  }
  if (!payload || !verifyFeishuToken(app.verification_token, payload)) throw refused();
  return payload;
}

export function openFeishu(req: HttpRequest, app: ChatApps['feishu'], nowMs: number): Opened {
  const payload = verified(req, app, nowMs);
  if (payload.type === 'url_verification') return answered(json(200, { challenge: str(payload.challenge) ?? '' }));
  const header = (payload.header ?? {}) as Record<string, unknown>;
  const event = (payload.event ?? {}) as Record<string, unknown>;
  const id = str(header.event_id);
  const tenant = str(header.tenant_key);
  if (!id || !tenant) throw invalid('Expected a schema 2.0 event with header.event_id and header.tenant_key.');
  const { user, action } = readEvent(str(header.event_type), event);
  if (!action) return answered(json(200, {}));
  if (!user) throw invalid('Expected the operator or sender open_id.');
  return {
    kind: 'callback',
    callback: {
      platform: 'feishu',
      id,
      identity: { platform: 'feishu', tenant, user },
      action,
      requestId: req.requestId,
    },
    respond: toast,
  };
}

function readEvent(
  type: string | undefined,
  event: Record<string, unknown>,
): { user?: string | undefined; action?: ChatAction } {
  if (type === 'card.action.trigger') {
    const operator = (event.operator ?? {}) as Record<string, unknown>;
    const value = ((event.action as Record<string, unknown> | undefined)?.value ?? {}) as Record<string, unknown>;
    const form = ((event.action as Record<string, unknown> | undefined)?.form_value ?? {}) as Record<string, unknown>;
    const decision = value.action;
    const approvalId = str(value.approval_id);
    if ((decision !== 'approve' && decision !== 'reject') || !approvalId)
      throw invalid('Expected an approve or reject card action.');
    return {
      user: str(operator.open_id),
      action: { kind: 'decide', approvalId, decision, comment: str(form.comment) },
    };
  }
  if (type === 'im.message.receive_v1') {
    const sender = ((event.sender as Record<string, unknown> | undefined)?.sender_id ?? {}) as Record<string, unknown>;
    const content = jsonObject(str((event.message as Record<string, unknown> | undefined)?.content));
    return { user: str(sender.open_id), action: { kind: 'command', text: str(content?.text) ?? '' } };
  }
  return {}; // other events: acknowledged, nothing done
}

const toast = (reply: ChatReply) =>
  json(200, {
    toast: {
      type: reply.outcome === 'decided' || reply.outcome === 'linked' ? 'success' : 'info',
      content: reply.text,
    },
  });
