import { describe, expect, it } from 'vitest';
import { xmlField } from '../../../functions/chat/wecom.ts';
import { parseCommand } from '../../../shared/chat/callbacks.ts';

describe('chat commands: the same words on every platform', () => {
  it('reads /slipway commands and bare direct messages alike', () => {
    expect(parseCommand('/slipway link 7KQ2M4XJ9A')).toEqual({ kind: 'link', code: '7KQ2M4XJ9A' });
    expect(parseCommand('  link 7KQ2M4XJ9A ')).toEqual({ kind: 'link', code: '7KQ2M4XJ9A' });
    expect(parseCommand('status app_01 prod')).toEqual({ kind: 'status', appId: 'app_01', env: 'prod' });
    expect(parseCommand('slipway APPROVE apr_1 ship it')).toEqual({
      kind: 'decide',
      approvalId: 'apr_1',
      decision: 'approve',
      comment: 'ship it',
    });
    expect(parseCommand('reject apr_1')).toMatchObject({ kind: 'decide', decision: 'reject', comment: undefined });
  });

  it('takes a deployment id for its approval', () => {
    expect(parseCommand('approve dep_01jd0000000000000000000000')).toMatchObject({
      approvalId: 'apr_01jd0000000000000000000000',
    });
  });

  it('answers help to anything else, or a command missing its argument', () => {
    for (const text of ['', 'dance', 'link', 'status app_01', 'approve', '/slipwayx link A']) {
      expect(parseCommand(text), text).toEqual({ kind: 'help' });
    }
  });
});

describe("WeCom's flat XML", () => {
  it('reads CDATA and plain elements, and nothing that is not there', () => {
    const xml =
      '<xml><ToUserName><![CDATA[ww1]]></ToUserName><CreateTime>1409659813</CreateTime><Content><![CDATA[a <b> ]]]></Content></xml>';
    expect(xmlField(xml, 'ToUserName')).toBe('ww1');
    expect(xmlField(xml, 'CreateTime')).toBe('1409659813');
    expect(xmlField(xml, 'Content')).toBe('a <b> ]');
    expect(xmlField(xml, 'MsgId')).toBeUndefined();
  });
});
