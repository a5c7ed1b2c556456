/**
 * DingTalk: the app robot's HTTP callbacks, signed with the AppSecret (`timestamp`, `sign` headers).
 * An interactive card's button (`outTrackId`, the action in `content`) decides; a message to the
 * robot runs the commands, and its answer is the robot's reply (DingTalk shows a callback answer
 * as the robot's message).
 */
import { createHash } from 'node:crypto';
import type { ChatApps } from '../../shared/chat/apps.ts';
import type { ChatReply } from '../../shared/chat/callbacks.ts';
import { verifyDingTalk } from '../../shared/chat/verify/dingtalk.ts';
import { invalid } from '../../shared/errors.ts';
import type { HttpRequest } from '../../shared/http/kernel.ts';
import { unauthorized } from '../../shared/http/problem.ts';
import { json } from '../../shared/http/response.ts';
import { jsonObject, type Opened, str } from './opened.ts';

export function openDingTalk(req: HttpRequest, app: ChatApps['dingtalk'], nowMs: number): Opened {
  const ok =
    app &&
    verifyDingTalk({ appSecret: app.app_secret, timestamp: req.header('timestamp'), sign: req.header('sign'), nowMs });
  if (!ok) throw unauthorized('The request is not signed by the DingTalk app, or its timestamp is stale.');
  const body = jsonObject(req.text);
  if (!body) throw invalid('Expected a JSON callback.');
  const requestId = req.requestId;
  if (body.outTrackId !== undefined) {
    const tenant = str(body.corpId);
    const user = str(body.userId);
    const data = (jsonObject(str(body.content))?.cardPrivateData ?? {}) as Record<string, unknown>;
    const decision = (data.actionIds as unknown[] | undefined)?.[0];
    const params = (data.params ?? {}) as Record<string, unknown>;
    const approvalId = str(params.approval_id);
    if (!tenant || !user || !approvalId || (decision !== 'approve' && decision !== 'reject')) {
      throw invalid('Expected a card callback with corpId, userId and an approve or reject action.');
    }
    return {
      kind: 'callback',
      callback: {
        platform: 'dingtalk',
        // A card callback carries no delivery id: a retry repeats the same body.
        id: createHash('sha256')
          .update(req.text ?? '')
          .digest('hex'),
        identity: { platform: 'dingtalk', tenant, user },
        action: { kind: 'decide', approvalId, decision, comment: str(params.comment) },
        requestId,
      },
      respond: (reply) =>
        json(200, {
          cardUpdateOptions: { updatePrivateDataByKey: true },
          userPrivateData: { cardParamMap: { reply: reply.text } },
        }),
    };
  }
  const tenant = str(body.chatbotCorpId) ?? str(body.senderCorpId);
  const user = str(body.senderStaffId) ?? str(body.senderId);
  const id = str(body.msgId);
  if (!tenant || !user || !id) throw invalid('Expected a robot message with msgId, chatbotCorpId and senderStaffId.');
  const text = str((body.text as Record<string, unknown> | undefined)?.content) ?? '';
  return {
    kind: 'callback',
    callback: {
      platform: 'dingtalk',
      id,
      identity: { platform: 'dingtalk', tenant, user },
      action: { kind: 'command', text },
      requestId,
    },
    respond: robotReply,
  };
}

const robotReply = (reply: ChatReply) => json(200, { msgtype: 'text', text: { content: reply.text } });
