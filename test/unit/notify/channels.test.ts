import { createHmac } from 'node:crypto';
import fc from 'fast-check';
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
        { type: 'section', text: { type: 'mrkdwn', text: escapedText, verbatim: true } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Image*\nghcr.io/acme/shop-api:1.4.2', verbatim: true },
            { type: 'mrkdwn', text: '*By*\nalice', verbatim: true },
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
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'Slipway · deployment/dep_1 · 2026-11-20 14:03 UTC', verbatim: true }],
        },
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
    await expect(send).rejects.toThrow(
      new ChatDeliveryFailed('127.0.0.1 answered HTTP 404: no_service', { status: 404, code: 'no_service' }),
    );
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
                '`ghcr.io/acme/shop-api:1.4.2` did not roll out.\nReason: ＜!channel＞ ＜at id=all＞＜/at＞ readiness probe failed',
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
      new ChatDeliveryFailed('Feishu refused the message: code 19021, sign match fail', { code: '19021' }),
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
      new ChatDeliveryFailed('DingTalk refused the message: code 310000, sign not match', { code: '310000' }),
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
      new ChatDeliveryFailed('WeCom refused the message: code 93000, invalid webhook url', { code: '93000' }),
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

describe('text people wrote', () => {
  /** What a deployer, an approver or an app's owner may type into a reason, a comment or a name. */
  const HOSTILE = [
    '<https://evil.example/login|Approve here>',
    '[Approve here](https://evil.example/login)',
    '![logo](https://evil.example/pixel.png)',
    '<!channel> <!here> <!subteam^S123> <@U123> <#C123>',
    '@all @here @channel @everyone',
    '<at id=all></at> <at user_id="all">all</at> <@all>',
    '<a href="https://evil.example">docs</a> <font color="warning">urgent</font>',
    '&lt;!channel&gt; &#60;at id=all&#62; &lt;https://evil.example|x&gt;',
    'see https://evil.example/phish or http://evil.example or ftp://evil.example',
    '<https://evil.example>',
  ];
  const link = { label: 'Open deployment', url: 'https://slipway.example.com/api/v1/deployments/dep_1/status' };
  const written = (words: string): ChatMessage => ({
    title: `Deploy failed: ${words}`,
    text: `\`img:${words}\` did not roll out.\nReason: ${words}`,
    fields: [
      ['By', words],
      ['Image', words],
    ],
    link,
    severity: 'failure',
    footer: `Slipway · ${words}`,
  });

  /** Every text a platform shows, plain or markup, with our own button taken out: it is the one link allowed. */
  function shown(kind: string, payload: unknown): { text: string; plain: boolean }[] {
    const texts: { text: string; plain: boolean }[] = [];
    const walk = (value: unknown, key: string, parent: Record<string, unknown>) => {
      if (typeof value === 'string') {
        const plain = parent.type === 'plain_text' || parent.tag === 'plain_text' || key === 'title';
        if (key !== 'url' && key !== 'singleURL') texts.push({ text: value, plain });
      } else if (value && typeof value === 'object') {
        const next = Array.isArray(value) ? parent : (value as Record<string, unknown>);
        for (const [k, v] of Object.entries(value)) walk(v, Array.isArray(value) ? key : k, next);
      }
    };
    walk(payload, '', {});
    const button = `\n[${link.label}](${link.url})`;
    return texts.map(({ text, plain }) => ({
      text: kind === 'wecom' && text.endsWith(button) ? text.slice(0, -button.length) : text,
      plain,
    }));
  }

  /**
   * Nowhere a URL a client would link, nor an `@` starting a word. Where markup is read: on Slack
   * no `<`/`>` and `&` only in its entities; on the markdown platforms no `<`, `>`, `[`, `]`, `&`.
   */
  function expectInert(kind: string, texts: { text: string; plain: boolean }[]) {
    for (const { text, plain } of texts) {
      expect(text, kind).not.toMatch(/:\/\//);
      expect(text, kind).not.toMatch(/(?<!\w)@/);
      if (plain) continue;
      expect(text, kind).not.toMatch(/[<>]/);
      if (kind === 'slack') expect(text.replace(/&(amp|lt|gt);/g, ''), kind).not.toContain('&');
      else expect(text, kind).not.toMatch(/[[\]&]/);
    }
  }

  const kinds = ['slack', 'feishu', 'dingtalk', 'wecom'] as const;

  it.each(kinds)('%s shows links, mentions and tags people wrote as text, and only our button links', async (kind) => {
    receiver.answer = () => ({ body: { code: 0, errcode: 0 } });
    for (const words of HOSTILE) await createChannel(kind, { url: receiver.url }, policy).send(written(words));
    expect(receiver.requests).toHaveLength(HOSTILE.length);
    for (const request of receiver.requests) {
      expectInert(kind, shown(kind, request.json));
      // The only URL anywhere in the payload is our button's.
      expect(new Set(JSON.stringify(request.json).match(/[a-z]+:\/\/[^"\s)]+/g))).toEqual(new Set([link.url]));
    }
  });

  it('slack turns off its own link and mention parsing, and escapes the notification text too', async () => {
    receiver.answer = () => ({ body: 'ok' });
    await createChannel('slack', { url: receiver.url }, policy).send(written('<!channel> https://evil.example'));
    const { text, blocks } = received().json as { text: string; blocks: { text?: { verbatim?: boolean } }[] };
    expect(text).toBe(
      '❌ Deploy failed: &lt;!channel&gt; https:／／evil.example\n`img:&lt;!channel&gt; https:／／evil.example` did not roll out.\nReason: &lt;!channel&gt; https:／／evil.example',
    );
    expect(blocks[1]?.text?.verbatim).toBe(true);
  });

  it('the markdown platforms keep what was written readable, with look-alikes', async () => {
    receiver.answer = () => ({ body: { errcode: 0 } });
    await createChannel('wecom', { url: receiver.url }, policy).send({
      title: 'Deploy failed',
      text: 'Reason: [x](https://evil.example) <@all> @all & mail alice@example.com',
      severity: 'failure',
    });
    const { markdown } = received().json as { markdown: { content: string } };
    expect(markdown.content).toBe(
      '**❌ Deploy failed**\nReason: ［x］(https:／／evil.example) ＜＠all＞ ＠all ＆ mail alice@example.com',
    );
  });

  it.each(kinds)('%s: whatever is written, nothing in it becomes markup', async (kind) => {
    receiver.answer = () => ({ body: { code: 0, errcode: 0 } });
    const piece = fc.oneof(
      fc.constantFrom(...HOSTILE, '<', '>', '[', ']', '&', '@', '://', '|', '!', '`'),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 6 }), async (pieces) => {
        receiver.requests.length = 0;
        await createChannel(kind, { url: receiver.url }, policy).send(written(pieces.join('')));
        expectInert(kind, shown(kind, received().json));
      }),
      { numRuns: 40 },
    );
  });
});
