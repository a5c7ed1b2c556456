import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChatMessage, createChannel, type DeliveryPolicy } from '../../../shared/notify/channels.ts';
import { ChatDeliveryFailed } from '../../../shared/notify/safe-fetch.ts';
import { type Receiver, startReceiver } from './receiver.ts';

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.requests.length = 0;
});

const policy: DeliveryPolicy = { allowedHosts: ['127.0.0.1'], allowPrivate: ['127.0.0.1'], timeoutMs: 2_000 };

const failed: ChatMessage = {
  title: 'Deploy failed: shop-api to prod',
  text: '`ghcr.io/acme/shop-api:1.4.2` did not roll out.\nReason: <!channel> <at id=all></at> readiness probe failed',
  fields: [
    ['Image', 'ghcr.io/acme/shop-api:1.4.2'],
    ['By', 'alice'],
  ],
  link: { label: 'Open deployment', url: 'https://slipway.example.com/deployments/dep_1' },
  severity: 'failure',
  footer: 'Slipway · deployment/dep_1 · 2026-11-20 14:03 UTC',
};

const minimal: ChatMessage = { title: 'Deployed shop-api to prod', text: 'Live.', severity: 'success' };

/** The only request the receiver got. */
function received() {
  expect(receiver.requests).toHaveLength(1);
  return receiver.requests[0] as NonNullable<(typeof receiver.requests)[number]>;
}

describe('Slack incoming webhook', () => {
  it('posts text and header/section/actions/context blocks, escaping what Slack would parse', async () => {
    receiver.answer = () => ({ status: 200, body: 'ok' });
    await createChannel('slack', { url: `${receiver.url}/services/T0/B0/x` }, policy).send(failed);
    const request = received();
    expect(request.path).toBe('/services/T0/B0/x');
    const escapedText =
      '`ghcr.io/acme/shop-api:1.4.2` did not roll out.\nReason: &lt;!channel&gt; &lt;at id=all&gt;&lt;/at&gt; readiness probe failed';
    expect(request.json).toEqual({
      text: `❌ Deploy failed: shop-api to prod\n${escapedText}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '❌ Deploy failed: shop-api to prod' } },
        { type: 'section', text: { type: 'mrkdwn', text: escapedText } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Image*\nghcr.io/acme/shop-api:1.4.2' },
            { type: 'mrkdwn', text: '*By*\nalice' },
          ],
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Open deployment' },
              url: 'https://slipway.example.com/deployments/dep_1',
            },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'Slipway · deployment/dep_1 · 2026-11-20 14:03 UTC' }] },
      ],
    });
  });

  it('keeps within Block Kit limits', async () => {
    receiver.answer = () => ({ body: 'ok' });
    const fields = Array.from({ length: 15 }, (_, i): [string, string] => [`F${i}`, 'v']);
    await createChannel('slack', { url: receiver.url }, policy).send({
      ...minimal,
      title: 't'.repeat(400),
      text: 'x'.repeat(5_000),
      fields,
    });
    const { blocks } = received().json as { blocks: { type: string; text?: { text: string }; fields?: unknown[] }[] };
    expect(Array.from(blocks[0]?.text?.text ?? '')).toHaveLength(150);
    expect(Array.from(blocks[1]?.text?.text ?? '')).toHaveLength(3000);
    expect(blocks[2]?.fields).toHaveLength(10);
  });

  it("fails on Slack's error answers", async () => {
    receiver.answer = () => ({ status: 404, body: 'no_service' });
    const send = createChannel('slack', { url: receiver.url }, policy).send(minimal);
    await expect(send).rejects.toThrow(new ChatDeliveryFailed('127.0.0.1 answered HTTP 404: no_service'));
  });
});

describe('Feishu custom bot', () => {
  const secret = 'feishu-secret-123';

  it('posts an interactive card signed with timestamp and sign in the body', async () => {
    let signatureValid = false;
    receiver.answer = (request) => {
      const body = request.json as { timestamp: string; sign: string };
      // Feishu's rule, recomputed here: key = `${timestamp}\n${secret}`, message = empty.
      const expected = createHmac('sha256', `${body.timestamp}\n${secret}`).update(Buffer.alloc(0)).digest('base64');
      signatureValid = body.sign === expected;
      return signatureValid
        ? { body: { code: 0, msg: 'success', data: {} } }
        : { body: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' } };
    };
    await createChannel('feishu', { url: `${receiver.url}/open-apis/bot/v2/hook/abc`, secret }, policy).send(failed);
    expect(signatureValid).toBe(true);
    const { timestamp, sign, ...payload } = received().json as Record<string, unknown>;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(timestamp).toMatch(/^\d{10}$/);
    expect(sign).toEqual(expect.any(String));
    expect(payload).toEqual({
      msg_type: 'interactive',
      card: {
        config: { wide_screen_mode: true },
        header: { template: 'red', title: { tag: 'plain_text', content: '❌ Deploy failed: shop-api to prod' } },
        elements: [
          {
            tag: 'div',
            text: {
              tag: 'lark_md',
              content:
                '`ghcr.io/acme/shop-api:1.4.2` did not roll out.\nReason: &lt;!channel&gt; &lt;at id=all&gt;&lt;/at&gt; readiness probe failed',
            },
          },
          {
            tag: 'div',
            fields: [
              { is_short: true, text: { tag: 'lark_md', content: '**Image**\nghcr.io/acme/shop-api:1.4.2' } },
              { is_short: true, text: { tag: 'lark_md', content: '**By**\nalice' } },
            ],
          },
          {
            tag: 'action',
            actions: [
              {
                tag: 'button',
                text: { tag: 'plain_text', content: 'Open deployment' },
                type: 'primary',
                url: 'https://slipway.example.com/deployments/dep_1',
              },
            ],
          },
          {
            tag: 'note',
            elements: [{ tag: 'plain_text', content: 'Slipway · deployment/dep_1 · 2026-11-20 14:03 UTC' }],
          },
        ],
      },
    });
  });

  it('sends no signature fields without a secret', async () => {
    receiver.answer = () => ({ body: { code: 0, msg: 'success' } });
    await createChannel('feishu', { url: receiver.url }, policy).send(minimal);
    const body = received().json as Record<string, unknown>;
    expect(body).not.toHaveProperty('sign');
    expect(body).not.toHaveProperty('timestamp');
    expect(body).toMatchObject({ msg_type: 'interactive', card: { header: { template: 'green' } } });
  });

  it('fails when Feishu answers 200 with a non-zero code', async () => {
    receiver.answer = () => ({ body: { code: 19021, msg: 'sign match fail', data: {} } });
    const send = createChannel('feishu', { url: receiver.url, secret: 'wrong' }, policy).send(minimal);
    await expect(send).rejects.toThrow(
      new ChatDeliveryFailed('Feishu refused the message: code 19021, sign match fail'),
    );
  });

  it('fails on an answer that is not JSON', async () => {
    receiver.answer = () => ({ body: '<html>gateway</html>' });
    await expect(createChannel('feishu', { url: receiver.url }, policy).send(minimal)).rejects.toThrow(/not JSON/);
  });
});

describe('DingTalk custom robot', () => {
  const secret = 'SECdingtalk0123456789';

  /** DingTalk's rule, recomputed here: HMAC(key = secret, message = `${timestamp}\n${secret}`), base64. */
  const dingSign = (timestamp: string) =>
    createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');

  it('signs with timestamp (ms) and url-encoded sign as query parameters, and sends an actionCard for a link', async () => {
    receiver.answer = (request) => {
      const timestamp = request.query.get('timestamp') ?? '';
      return request.query.get('sign') === dingSign(timestamp)
        ? { body: { errcode: 0, errmsg: 'ok' } }
        : { body: { errcode: 310000, errmsg: 'sign not match' } };
    };
    await createChannel('dingtalk', { url: `${receiver.url}/robot/send?access_token=tok`, secret }, policy).send(
      failed,
    );
    const request = received();
    const timestamp = request.query.get('timestamp') ?? '';
    expect(timestamp).toMatch(/^\d{13}$/);
    expect(Math.abs(Number(timestamp) - Date.now())).toBeLessThan(60_000);
    expect(request.query.get('access_token')).toBe('tok');
    // On the wire the base64 signature is url-encoded once: no raw + / = in the query.
    expect(request.rawUrl).toContain(`&sign=${encodeURIComponent(dingSign(timestamp))}`);
    expect(request.json).toEqual({
      msgtype: 'actionCard',
      actionCard: {
        title: '❌ Deploy failed: shop-api to prod',
        text: [
          '**❌ Deploy failed: shop-api to prod**',
          '`ghcr.io/acme/shop-api:1.4.2` did not roll out.',
          'Reason: ＜!channel＞ ＜at id=all＞＜/at＞ readiness probe failed',
          '**Image**: ghcr.io/acme/shop-api:1.4.2',
          '**By**: alice',
          'Slipway · deployment/dep_1 · 2026-11-20 14:03 UTC',
        ].join('\n\n'),
        btnOrientation: '0',
        singleTitle: 'Open deployment',
        singleURL: 'https://slipway.example.com/deployments/dep_1',
      },
    });
  });

  it('sends markdown when there is no link, unsigned without a secret', async () => {
    receiver.answer = () => ({ body: { errcode: 0, errmsg: 'ok' } });
    await createChannel('dingtalk', { url: `${receiver.url}/robot/send?access_token=tok` }, policy).send(minimal);
    const request = received();
    expect(request.rawUrl).toBe('/robot/send?access_token=tok');
    expect(request.json).toEqual({
      msgtype: 'markdown',
      markdown: { title: '✅ Deployed shop-api to prod', text: '**✅ Deployed shop-api to prod**\n\nLive.' },
    });
  });

  it('fails on errcode 310000 (signature or keyword refused)', async () => {
    receiver.answer = () => ({ body: { errcode: 310000, errmsg: 'sign not match' } });
    const send = createChannel('dingtalk', { url: receiver.url, secret: 'SECwrong' }, policy).send(minimal);
    await expect(send).rejects.toThrow(
      new ChatDeliveryFailed('DingTalk refused the message: code 310000, sign not match'),
    );
  });
});

describe('WeCom group robot', () => {
  it('posts markdown to the keyed URL with the link as a markdown link', async () => {
    receiver.answer = () => ({ body: { errcode: 0, errmsg: 'ok' } });
    await createChannel('wecom', { url: `${receiver.url}/cgi-bin/webhook/send?key=k-1` }, policy).send(failed);
    const request = received();
    expect(request.rawUrl).toBe('/cgi-bin/webhook/send?key=k-1');
    expect(request.json).toEqual({
      msgtype: 'markdown',
      markdown: {
        content: [
          '**❌ Deploy failed: shop-api to prod**',
          '`ghcr.io/acme/shop-api:1.4.2` did not roll out.',
          'Reason: ＜!channel＞ ＜at id=all＞＜/at＞ readiness probe failed',
          '**Image**: ghcr.io/acme/shop-api:1.4.2',
          '**By**: alice',
          'Slipway · deployment/dep_1 · 2026-11-20 14:03 UTC',
          '[Open deployment](https://slipway.example.com/deployments/dep_1)',
        ].join('\n'),
      },
    });
  });

  it('keeps content within 4096 bytes', async () => {
    receiver.answer = () => ({ body: { errcode: 0, errmsg: 'ok' } });
    await createChannel('wecom', { url: receiver.url }, policy).send({ ...minimal, text: '部署'.repeat(3_000) });
    const { markdown } = received().json as { markdown: { content: string } };
    expect(Buffer.byteLength(markdown.content)).toBeLessThanOrEqual(4096);
    expect(markdown.content.endsWith('…')).toBe(true);
  });

  it('fails on a non-zero errcode', async () => {
    receiver.answer = () => ({ body: { errcode: 93000, errmsg: 'invalid webhook url' } });
    const send = createChannel('wecom', { url: receiver.url }, policy).send(minimal);
    await expect(send).rejects.toThrow(
      new ChatDeliveryFailed('WeCom refused the message: code 93000, invalid webhook url'),
    );
  });
});

describe('every channel', () => {
  it.each(['slack', 'feishu', 'dingtalk', 'wecom'] as const)('%s goes through the host allow-list', async (kind) => {
    const strict = { ...policy, allowedHosts: ['hooks.slack.com'] };
    await expect(createChannel(kind, { url: receiver.url }, strict).send(minimal)).rejects.toThrow(
      /not in the allowed hosts/,
    );
    expect(receiver.requests).toHaveLength(0);
  });
});
