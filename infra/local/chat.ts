/**
 * `npm run -s chat -- approve <approval-id> --as <chat-user> --platform slack|feishu|dingtalk|wecom`
 * Plays a chat platform against the running local cloud: sends the callback that platform sends
 * when <chat-user> presses Approve (or Reject, or types a command), signed exactly as it signs it
 * with the local chat apps (`slipway/chat/apps`, generated at the first `npm start`), and prints
 * the private reply the person would see.
 */
import { parseArgs } from 'node:util';
import type { ChatKind } from '../../shared/notify/channels.ts';
import { type LocalAction, readChatApps, replyText, send, signedCallback } from './chat-apps.ts';

const USAGE = `Usage: npm run -s chat -- <command> --as <chat-user> --platform <slack|feishu|dingtalk|wecom> [options]
  approve <approval-id>     press Approve on the approval's message
  reject <approval-id>      press Reject (--comment says why)
  link <code>               send the code from POST /api/v1/users/me/chat-links (links <chat-user> to you)
  status <app-id> <env>     ask what runs in an environment and what waits
  --as        the chat user id (a Slack user id, a Feishu open_id, a DingTalk or WeCom userid)
  --platform  which platform plays (default slack)
  --comment   a comment with the decision
  --port      the local cloud's gateway port (default 3000)
  --endpoint  its AWS endpoint, where the chat apps secret is (default http://127.0.0.1:4566)`;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    as: { type: 'string' },
    platform: { type: 'string', default: 'slack' },
    comment: { type: 'string' },
    port: { type: 'string', default: '3000' },
    endpoint: { type: 'string', default: 'http://127.0.0.1:4566' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const platform = args.platform as ChatKind;
if (!['slack', 'feishu', 'dingtalk', 'wecom'].includes(platform)) fail(`Unknown platform ${platform}`);
if (!args.as) fail('Give --as <chat-user>.');

const action = actionOf(positionals);
let apps: Awaited<ReturnType<typeof readChatApps>>;
try {
  apps = await readChatApps(args.endpoint);
} catch (error) {
  fail(
    `The local cloud's Secrets Manager does not answer at ${args.endpoint} (npm start?): ${(error as Error).message}`,
  );
}
const base = `http://localhost:${args.port}`;
const request = signedCallback(apps, platform, { user: args.as as string, action });
const answer = await send(base, request).catch((error: Error) => fail(`No answer at ${base}: ${error.message}`));
console.log(`${platform} ▸ ${request.method} ${request.path.split('?')[0]} → HTTP ${answer.status}`);
console.log(answer.status === 200 ? replyText(apps, platform, answer.text) : answer.text);
process.exit(answer.status === 200 ? 0 : 1);

function actionOf([command, first, second]: string[]): LocalAction {
  if ((command === 'approve' || command === 'reject') && first) {
    return { kind: 'decide', approvalId: first, decision: command, ...(args.comment ? { comment: args.comment } : {}) };
  }
  if (command === 'link' && first) return { kind: 'command', text: `link ${first}` };
  if (command === 'status' && first && second) return { kind: 'command', text: `status ${first} ${second}` };
  return fail('Give a command: approve <id>, reject <id>, link <code> or status <app-id> <env>.');
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}
