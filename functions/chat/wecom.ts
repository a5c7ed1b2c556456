/**
 * WeCom: the app's callback URL. GET is the URL verification (echostr, decrypted, answered as
 * text); POST carries encrypted XML: a template card button (`template_card_event`, EventKey
 * `approve:<id>` or `reject:<id>`) decides, a text message runs the commands. Answers are
 * WeCom's encrypted passive reply, a text to the sender only.
 */
import { randomBytes } from 'node:crypto';
import type { ChatApps } from '../../shared/chat/apps.ts';
import type { ChatAction, ChatReply } from '../../shared/chat/callbacks.ts';
import { encryptWeCom, openWeCom, wecomSignature } from '../../shared/chat/verify/wecom.ts';
import { invalid } from '../../shared/errors.ts';
import type { HttpRequest } from '../../shared/http/kernel.ts';
import { unauthorized } from '../../shared/http/problem.ts';
import type { ApiResult } from '../../shared/http/response.ts';
import { answered, type Opened } from './opened.ts';

type WeCom = NonNullable<ChatApps['wecom']>;

const refused = () =>
  unauthorized('The request is not from the WeCom app (msg_signature or encryption), or it is stale.');

/** A top-level element of WeCom's flat XML, CDATA or plain; undefined when absent. */
export function xmlField(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>(?:<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>|([^<]*))</${name}>`).exec(xml);
  return match ? (match[1] ?? match[2] ?? '') : undefined;
}

const cdata = (value: string) => `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

function opened(req: HttpRequest, app: WeCom | undefined, encrypt: string | undefined, nowMs: number): string {
  const message =
    app &&
    openWeCom({
      token: app.token,
      encodingAesKey: app.encoding_aes_key,
      corpId: app.corp_id,
      timestamp: req.query.timestamp,
      nonce: req.query.nonce,
      signature: req.query.msg_signature,
      encrypt,
      nowMs,
    });
  if (message === undefined) throw refused();
  return message;
}

export function openWeComVerification(req: HttpRequest, app: WeCom | undefined, nowMs: number): Opened {
  const echo = opened(req, app, req.query.echostr, nowMs);
  return answered({ statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: echo });
}

export function openWeComEvent(req: HttpRequest, app: WeCom | undefined, nowMs: number): Opened {
  const xml = opened(req, app, xmlField(req.text ?? '', 'Encrypt'), nowMs);
  const wecom = app as WeCom;
  const user = xmlField(xml, 'FromUserName');
  const created = xmlField(xml, 'CreateTime');
  const action = actionOf(xml);
  if (!action) return answered({ statusCode: 200, headers: { 'content-type': 'text/plain' }, body: '' });
  if (!user || !created) throw invalid('Expected FromUserName and CreateTime.');
  return {
    kind: 'callback',
    callback: {
      platform: 'wecom',
      // WeCom's documented dedup key: MsgId for messages, sender and CreateTime for events.
      id: xmlField(xml, 'MsgId') ?? `${user}:${created}:${xmlField(xml, 'EventKey') ?? ''}`,
      identity: { platform: 'wecom', tenant: wecom.corp_id, user },
      action,
      requestId: req.requestId,
    },
    respond: (reply) => passiveReply(wecom, user, reply, nowMs),
  };
}

function actionOf(xml: string): ChatAction | undefined {
  const type = xmlField(xml, 'MsgType');
  if (type === 'text') return { kind: 'command', text: (xmlField(xml, 'Content') ?? '').slice(0, 2000) };
  if (type !== 'event' || xmlField(xml, 'Event') !== 'template_card_event') return undefined;
  const [decision, approvalId] = (xmlField(xml, 'EventKey') ?? '').split(':');
  if ((decision !== 'approve' && decision !== 'reject') || !approvalId)
    throw invalid('Expected EventKey approve:<id> or reject:<id>.');
  return { kind: 'decide', approvalId, decision };
}

/** WeCom's passive reply: the text message, encrypted and signed as the callback was. */
function passiveReply(app: WeCom, user: string, reply: ChatReply, nowMs: number): ApiResult {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(8).toString('hex');
  const inner = `<xml><ToUserName>${cdata(user)}</ToUserName><FromUserName>${cdata(app.corp_id)}</FromUserName><CreateTime>${timestamp}</CreateTime><MsgType>${cdata('text')}</MsgType><Content>${cdata(reply.text)}</Content></xml>`;
  const encrypt = encryptWeCom(app.encoding_aes_key, inner, app.corp_id);
  const signature = wecomSignature(app.token, timestamp, nonce, encrypt);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/xml' },
    body: `<xml><Encrypt>${cdata(encrypt)}</Encrypt><MsgSignature>${cdata(signature)}</MsgSignature><TimeStamp>${timestamp}</TimeStamp><Nonce>${cdata(nonce)}</Nonce></xml>`,
  };
}
