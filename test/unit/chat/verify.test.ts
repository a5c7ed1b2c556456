import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dingtalkSign, verifyDingTalk } from '../../../shared/chat/verify/dingtalk.ts';
import {
  decryptFeishu,
  encryptFeishu,
  feishuSignature,
  verifyFeishuSignature,
  verifyFeishuToken,
} from '../../../shared/chat/verify/feishu.ts';
import { slackSignature, verifySlack } from '../../../shared/chat/verify/slack.ts';
import { decryptWeCom, encryptWeCom, openWeCom, wecomSignature } from '../../../shared/chat/verify/wecom.ts';

// Slack's worked example in "Verifying requests from Slack" (api.slack.com/authentication/verifying-requests-from-slack).
const SLACK = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};

// WeCom's WXBizMsgCrypt samples (Sample.py / Sample.cpp / Sample.php of the official library,
// "使用示例一：验证回调URL" and "使用示例二：对用户回复的消息解密"): token, EncodingAESKey and CorpID below.
const WECOM = {
  token: 'QDG6eK',
  key: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  corpId: 'wx5823bf96d3bd56c7',
  verify: {
    signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
    timestamp: '1409659589',
    nonce: '263014780',
    echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
  },
  message: {
    signature: '477715d11cdb4164915debcba66cb864d751f3e6',
    timestamp: '1409659813',
    nonce: '1372623149',
    encrypt:
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
  },
};

const nowAt = (timestamp: string) => Number(timestamp) * 1000 + 30_000;

describe('Slack v0 signatures', () => {
  it("reproduces and accepts Slack's documented example", () => {
    expect(slackSignature(SLACK.secret, SLACK.timestamp, SLACK.body)).toBe(SLACK.signature);
    const input = {
      signingSecret: SLACK.secret,
      timestamp: SLACK.timestamp,
      signature: SLACK.signature,
      body: SLACK.body,
    };
    expect(verifySlack({ ...input, nowMs: nowAt(SLACK.timestamp) })).toBe(true);
  });

  it('refuses a timestamp more than five minutes away, either way, and a missing or other signature', () => {
    const input = {
      signingSecret: SLACK.secret,
      timestamp: SLACK.timestamp,
      signature: SLACK.signature,
      body: SLACK.body,
    };
    const at = Number(SLACK.timestamp) * 1000;
    expect(verifySlack({ ...input, nowMs: at + 300_000 })).toBe(true);
    expect(verifySlack({ ...input, nowMs: at + 301_000 })).toBe(false);
    expect(verifySlack({ ...input, nowMs: at - 301_000 })).toBe(false);
    expect(verifySlack({ ...input, signature: undefined, nowMs: at })).toBe(false);
    expect(verifySlack({ ...input, signature: SLACK.signature.toUpperCase(), nowMs: at })).toBe(false);
    expect(verifySlack({ ...input, timestamp: `${SLACK.timestamp}.0`, nowMs: at })).toBe(false);
    expect(verifySlack({ ...input, signingSecret: 'another', nowMs: at })).toBe(false);
  });
});

describe('Feishu/Lark', () => {
  // Feishu's Encrypt Key decrypt example (open.feishu.cn event subscription guide, "Encrypt Key"; also the
  // test of the official Go/Python SDKs): key "test key", this ciphertext is "hello world".
  it("decrypts Feishu's documented example, and nothing under another key", () => {
    expect(decryptFeishu('test key', 'P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=')).toBe('hello world');
    expect(decryptFeishu('other key', 'P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=')).not.toBe('hello world');
    expect(decryptFeishu('test key', 'AAAA')).toBeUndefined();
    expect(decryptFeishu('test key', 'not base64!')).toBeUndefined();
    // The same bytes spelled another way (unused bits before the padding set): not the ciphertext sent.
    expect(decryptFeishu('test key', 'P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghl=')).toBeUndefined();
  });

  it('round-trips what it encrypts, with the IV in front', () => {
    const sealed = encryptFeishu('k', '{"a":1}', Buffer.alloc(16, 7));
    expect(Buffer.from(sealed, 'base64').subarray(0, 16)).toEqual(Buffer.alloc(16, 7));
    expect(decryptFeishu('k', sealed)).toBe('{"a":1}');
  });

  it('checks the request signature over timestamp, nonce, Encrypt Key and body, and its freshness', () => {
    const body = '{"encrypt":"x"}';
    const ts = '1700000000';
    const signature = feishuSignature(ts, 'n1', 'key', body);
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    const input = { encryptKey: 'key', timestamp: ts, nonce: 'n1', signature, body, nowMs: nowAt(ts) };
    expect(verifyFeishuSignature(input)).toBe(true);
    expect(verifyFeishuSignature({ ...input, nonce: 'n2' })).toBe(false);
    expect(verifyFeishuSignature({ ...input, body: `${body} ` })).toBe(false);
    expect(verifyFeishuSignature({ ...input, nowMs: nowAt(ts) + 600_000 })).toBe(false);
  });

  it('takes the Verification Token from either schema', () => {
    expect(verifyFeishuToken('tok', { schema: '2.0', header: { token: 'tok' } })).toBe(true);
    expect(verifyFeishuToken('tok', { token: 'tok' })).toBe(true);
    expect(verifyFeishuToken('tok', { token: 'other' })).toBe(false);
    expect(verifyFeishuToken('tok', {})).toBe(false);
  });
});

describe('DingTalk callback signature', () => {
  // DingTalk publishes the algorithm (base64 HMAC-SHA256 of "<timestamp>\n<AppSecret>") but no vector:
  // this one is from OpenSSL, an independent implementation:
  //   printf '1577262236757\nthis is secret' | openssl dgst -sha256 -hmac 'this is secret' -binary | base64
  it('matches an independent HMAC and holds for an hour', () => {
    expect(dingtalkSign('this is secret', '1577262236757')).toBe('hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=');
    const input = {
      appSecret: 'this is secret',
      timestamp: '1577262236757',
      sign: 'hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=',
    };
    expect(verifyDingTalk({ ...input, nowMs: 1577262236757 + 3_600_000 })).toBe(true);
    expect(verifyDingTalk({ ...input, nowMs: 1577262236757 + 3_601_000 })).toBe(false);
    expect(verifyDingTalk({ ...input, sign: undefined, nowMs: 1577262236757 })).toBe(false);
    expect(verifyDingTalk({ ...input, appSecret: 'another', nowMs: 1577262236757 })).toBe(false);
  });
});

describe('WeCom msg_signature and EncodingAESKey', () => {
  it("verifies and decrypts the samples' URL verification (echostr)", () => {
    const { signature, timestamp, nonce, echostr } = WECOM.verify;
    expect(wecomSignature(WECOM.token, timestamp, nonce, echostr)).toBe(signature);
    const opened = decryptWeCom(WECOM.key, echostr);
    expect(opened?.receiveId).toBe(WECOM.corpId);
    expect(opened?.message).toMatch(/^\d+$/);
  });

  it("verifies and decrypts the samples' message", () => {
    const { signature, timestamp, nonce, encrypt } = WECOM.message;
    const message = openWeCom({
      token: WECOM.token,
      encodingAesKey: WECOM.key,
      corpId: WECOM.corpId,
      timestamp,
      nonce,
      signature,
      encrypt,
      nowMs: nowAt(timestamp),
    });
    expect(message).toContain('<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>');
    expect(message).toContain('<Content><![CDATA[hello]]></Content>');
    // Another corp's callback, a stale one, or one signed with another token: nothing.
    const base = { token: WECOM.token, encodingAesKey: WECOM.key, timestamp, nonce, signature, encrypt };
    expect(openWeCom({ ...base, corpId: 'wwother', nowMs: nowAt(timestamp) })).toBeUndefined();
    expect(openWeCom({ ...base, corpId: WECOM.corpId, nowMs: nowAt(timestamp) + 600_000 })).toBeUndefined();
    expect(openWeCom({ ...base, token: 'other', corpId: WECOM.corpId, nowMs: nowAt(timestamp) })).toBeUndefined();
  });

  // DingTalk's encrypted callbacks use the same algorithm: the vector of DingTalk's official
  // DingCallbackCrypto3.py (open-dingtalk/DingTalk-Callback-Crypto) passes through the same code.
  it("passes DingTalk's DingCallbackCrypto vector, the same algorithm with DingTalk's receive id", () => {
    const encrypt =
      '0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3';
    expect(wecomSignature('mryue', '1608001896814', 'WL4PK6yA', encrypt)).toBe(
      '03044561471240d4a14bb09372dfcfd4fd0e40cb',
    );
    expect(decryptWeCom('Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7', encrypt)).toEqual({
      message: '{"EventType":"check_url"}',
      receiveId: 'ding6ccabc44d2c8d38b',
    });
  });

  it('pads to 32-byte blocks (a full block of 32 when aligned) and round-trips', () => {
    for (const size of [0, 1, 11, 12, 13, 31, 32, 100]) {
      const message = 'x'.repeat(size);
      const sealed = encryptWeCom(WECOM.key, message, WECOM.corpId);
      expect(Buffer.from(sealed, 'base64').length % 32).toBe(0);
      expect(decryptWeCom(WECOM.key, sealed)).toEqual({ message, receiveId: WECOM.corpId });
    }
    expect(decryptWeCom('short', 'AAAA')).toBeUndefined();
  });
});

/** Every byte of every signed part matters: flipping one never yields an accepted callback. */
describe('forged and mutated callbacks never verify (property)', () => {
  const mutate = (text: string, at: number, by: number) => {
    const i = at % Math.max(text.length, 1);
    const code = ((text.charCodeAt(i) || 32) + 1 + (by % 90)) % 127 || 33;
    return text.length === 0
      ? String.fromCharCode(code)
      : text.slice(0, i) + String.fromCharCode(code) + text.slice(i + 1);
  };
  const part = fc.constantFrom('body', 'timestamp', 'nonce', 'signature');
  const arbitrary = fc.tuple(fc.string({ minLength: 1, maxLength: 200 }), part, fc.nat(), fc.nat());
  const ts = '1700000000';
  const now = nowAt(ts);

  it('Slack', () => {
    fc.assert(
      fc.property(arbitrary, ([body, which, at, by]) => {
        const signed = { body, timestamp: ts, signature: slackSignature('s3cret', ts, body), nonce: '' };
        const forged = { ...signed, [which]: mutate(signed[which as keyof typeof signed], at, by) };
        if (which === 'nonce') return; // Slack signs no nonce
        expect(verifySlack({ signingSecret: 's3cret', ...forged, nowMs: now })).toBe(false);
      }),
    );
  });

  it('Feishu', () => {
    fc.assert(
      fc.property(arbitrary, ([body, which, at, by]) => {
        const signed = { body, timestamp: ts, nonce: 'abc', signature: feishuSignature(ts, 'abc', 'ek', body) };
        const forged = { ...signed, [which]: mutate(signed[which as keyof typeof signed], at, by) };
        expect(verifyFeishuSignature({ encryptKey: 'ek', ...forged, nowMs: now })).toBe(false);
      }),
    );
  });

  it('DingTalk', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.boolean(), (at, by, onSign) => {
        const timestamp = String(now);
        const sign = dingtalkSign('app-secret', timestamp);
        const forged = onSign
          ? { timestamp, sign: mutate(sign, at, by) }
          : { timestamp: mutate(timestamp, at, by), sign };
        expect(verifyDingTalk({ appSecret: 'app-secret', ...forged, nowMs: now })).toBe(false);
      }),
    );
  });

  it('WeCom', () => {
    fc.assert(
      fc.property(arbitrary, ([message, which, at, by]) => {
        const encrypt = encryptWeCom(WECOM.key, message, WECOM.corpId);
        const signed = {
          body: encrypt,
          timestamp: ts,
          nonce: 'n',
          signature: wecomSignature(WECOM.token, ts, 'n', encrypt),
        };
        const forged = { ...signed, [which]: mutate(signed[which as keyof typeof signed], at, by) };
        const input = { token: WECOM.token, encodingAesKey: WECOM.key, corpId: WECOM.corpId, nowMs: now };
        expect(openWeCom({ ...input, ...forged, encrypt: forged.body })).toBeUndefined();
      }),
    );
  });

  it('a mutated WeCom or Feishu ciphertext never decrypts to the original', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 100 }), fc.nat(), fc.nat(), (message, at, by) => {
        const wecom = encryptWeCom(WECOM.key, message, WECOM.corpId);
        expect(decryptWeCom(WECOM.key, mutate(wecom, at, by))).not.toEqual({ message, receiveId: WECOM.corpId });
        const feishu = encryptFeishu('ek', message);
        expect(decryptFeishu('ek', mutate(feishu, at, by))).not.toBe(message);
      }),
    );
  });
});
