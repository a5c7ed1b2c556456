/**
 * Section: approvals from chat (issue 13). For each platform, a deployment to a protected
 * environment waits; a linked approver's Approve is posted as the platform posts it (signed with
 * the local chat apps, infra/local/chat-apps.ts). Timed: callback → answer (what the platform waits
 * for, within its 3 s), and callback → workflow resumed (the deployment's `applying` step, recorded
 * by the workflow after SendTaskSuccess). The cold import of the chat function is in the bundles table.
 */

import { readChatApps, send, signedCallback } from '../../infra/local/chat-apps.ts';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import type { ChatKind } from '../../shared/notify/channels.ts';
import { deliveryWorld } from '../integration/delivery/world.ts';
import { sleep } from './delivery.ts';
import { ms, percentile, table } from './stats.ts';

const PLATFORMS: ChatKind[] = ['slack', 'feishu', 'dingtalk', 'wecom'];
const DEADLINE_MS = 30_000;

interface Tail {
  p50: number;
  p99: number;
  max: number;
}
export interface ChatReport {
  perPlatform: number;
  /** The chat function's first callback after the cloud started: its import, the secret read, first connections. */
  coldAnswerMs: number;
  /** The first decision: its SDK clients' (Step Functions') first calls. */
  firstDecisionMs: number;
  answerMs: Record<ChatKind, Tail>;
  resumedMs: Record<ChatKind, Tail>;
}

const tail = (samples: number[]): Tail => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
  max: Math.max(...samples),
});

export async function measureChat(cloud: LocalCloud, perPlatform = 15): Promise<ChatReport> {
  const world = await deliveryWorld(cloud);
  const [bob] = world.approvers;
  const apps = await readChatApps();
  let coldAnswerMs = 0;
  for (const platform of PLATFORMS) {
    const { code } = (await bob.post('/api/v1/users/me/chat-links', {})).body;
    const start = performance.now();
    const linked = await send(
      cloud.url,
      signedCallback(apps, platform, { user: 'bob', action: { kind: 'command', text: `link ${code}` } }),
    );
    coldAnswerMs ||= performance.now() - start;
    if (linked.status !== 200) throw new Error(`Linking on ${platform} answered ${linked.status}: ${linked.text}`);
  }
  const answerMs = {} as Record<ChatKind, Tail>;
  const resumedMs = {} as Record<ChatKind, Tail>;
  let n = 0;
  let firstDecisionMs = 0;
  for (const platform of PLATFORMS) {
    const answers: number[] = [];
    const resumed: number[] = [];
    for (let i = 0; i < perPlatform; i++) {
      const deployment = await world.developer.post(`/api/v1/apps/${world.app.id}/deploy`, {
        env: 'prod',
        image: `3.0.${++n}`,
      });
      const approvalId = await until(world.developer, deployment.body.id, (s) =>
        s.approval?.id && s.state === 'waiting_for_approval' ? s.approval.id : undefined,
      );
      const request = signedCallback(apps, platform, {
        user: 'bob',
        action: { kind: 'decide', approvalId, decision: 'approve' },
      });
      const sent = Date.now();
      const start = performance.now();
      const reply = await send(cloud.url, request);
      const answered = performance.now() - start;
      const first = firstDecisionMs === 0;
      if (first) firstDecisionMs = answered;
      else answers.push(answered);
      if (reply.status !== 200) throw new Error(`${platform} approve answered ${reply.status}: ${reply.text}`);
      const applying = await until(
        world.developer,
        deployment.body.id,
        (s) => s.steps.find((step) => step.state === 'applying')?.at,
      );
      if (!first) resumed.push(Date.parse(applying) - sent);
      await until(world.developer, deployment.body.id, (s) => (s.final ? true : undefined));
    }
    answerMs[platform] = tail(answers);
    resumedMs[platform] = tail(resumed);
  }
  return { perPlatform, coldAnswerMs, firstDecisionMs, answerMs, resumedMs };
}

interface Status {
  state: string;
  final?: boolean;
  approval?: { id: string };
  steps: { state: string; at: string }[];
}

/** Polls the deployment's status every ~10 ms until `pick` finds something. */
async function until<T>(
  api: { get(path: string): Promise<{ body: Status }> },
  id: string,
  pick: (s: Status) => T | undefined,
): Promise<T> {
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    const found = pick((await api.get(`/api/v1/deployments/${id}/status`)).body);
    if (found !== undefined) return found;
    if (performance.now() > deadline) throw new Error(`Deployment ${id} did not get there in ${DEADLINE_MS} ms`);
    await sleep(10);
  }
}

export function chatMarkdown(report: ChatReport): string {
  const rows = PLATFORMS.flatMap((p) => [
    [
      `${p}: callback → answer`,
      ms(report.answerMs[p].p50, 1),
      ms(report.answerMs[p].p99, 1),
      ms(report.answerMs[p].max, 1),
    ],
    [
      `${p}: callback → workflow resumed`,
      ms(report.resumedMs[p].p50, 1),
      ms(report.resumedMs[p].p99, 1),
      ms(report.resumedMs[p].max, 1),
    ],
  ]);
  return [
    '## Approvals from chat',
    '',
    `A linked approver presses Approve, ${report.perPlatform} times per platform: the callback is signed as the platform signs it and posted to the public chat route of the local cloud. *Callback → answer*: verification, the link, \`decide()\` (the approval, its change event, SendTaskSuccess) and the platform-shaped reply; the platforms wait 3 s. *Callback → workflow resumed*: to the deployment's \`applying\` step, recorded by the next workflow step. The chat function's cold import is in the bundles table (\`chat\`).`,
    '',
    table(['', 'p50', 'p99', 'max'], rows),
    '',
    `Cold: the chat function's first callback after the cloud started (module import, the chat apps secret, first connections) answered in ${ms(report.coldAnswerMs, 1)}; the first decision (the Step Functions client's first call) in ${ms(report.firstDecisionMs, 1)}. Both are left out of the rows above.`,
  ].join('\n');
}
