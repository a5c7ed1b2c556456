import { loadChatApps } from '../../shared/chat/apps.ts';
import { handleCallback } from '../../shared/chat/callbacks.ts';
import { type HttpRequest, publicApi } from '../../shared/http/kernel.ts';
import type { ApiResult } from '../../shared/http/response.ts';
import { openDingTalk } from './dingtalk.ts';
import { openFeishu } from './feishu.ts';
import type { Opened } from './opened.ts';
import { openSlackCommand, openSlackInteraction } from './slack.ts';
import { openWeComEvent, openWeComVerification } from './wecom.ts';

/**
 * The public chat callback routes: no JWT, the platform's signature is the authentication (401
 * otherwise, nothing read or written). Verified, then handled, then answered in the platform's
 * format, all within the platforms' 3 s: nothing here waits on anything slower than the table.
 */
const route =
  (open: (req: HttpRequest, apps: Awaited<ReturnType<typeof loadChatApps>>, nowMs: number) => Opened) =>
  async (req: HttpRequest): Promise<ApiResult> => {
    const opened = open(req, await loadChatApps(), Date.now());
    if (opened.kind === 'answer') return opened.result;
    return opened.respond(await handleCallback(opened.callback));
  };

export const handler = publicApi({
  'POST /api/v1/chat/slack/interactions': route((req, apps, now) => openSlackInteraction(req, apps.slack, now)),
  'POST /api/v1/chat/slack/commands': route((req, apps, now) => openSlackCommand(req, apps.slack, now)),
  'POST /api/v1/chat/feishu/events': route((req, apps, now) => openFeishu(req, apps.feishu, now)),
  'POST /api/v1/chat/dingtalk/events': route((req, apps, now) => openDingTalk(req, apps.dingtalk, now)),
  'GET /api/v1/chat/wecom/events': route((req, apps, now) => openWeComVerification(req, apps.wecom, now)),
  'POST /api/v1/chat/wecom/events': route((req, apps, now) => openWeComEvent(req, apps.wecom, now)),
});
