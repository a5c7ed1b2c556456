import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ApprovalCard,
  approvalCard,
  dingTalkApprovalCard,
  feishuApprovalCard,
  slackApprovalMessage,
  weComApprovalCard,
  weComFollowUp,
} from '../../../shared/chat/approval-card.ts';
import type { ApprovalView } from '../../../shared/delivery/approvals.ts';
import type { DeploymentView } from '../../../shared/delivery/model.ts';
import type { Release } from '../../../shared/delivery/releases.ts';

const PUBLIC = 'https://slipway.example.com';
const ID = 'apr_01jd0000000000000000000000';
const LINK = `${PUBLIC}/api/v1/approvals/${ID}`;

beforeAll(() => {
  process.env.SLIPWAY_PUBLIC_URL = PUBLIC;
});

function approval(over: Partial<ApprovalView> = {}): ApprovalView {
  return {
    id: ID,
    deployment_id: 'dep_01jd0000000000000000000000',
    app_id: 'app_1',
    app_name: 'shop-api',
    project_id: 'prj_1',
    env: 'prod',
    image: 'ghcr.io/acme/shop-api:1.5.0',
    requested_by: 'dev-alice',
    state: 'pending',
    approver_teams: ['team_1'],
    minimum_approvals: 2,
    prevent_self_approval: true,
    votes: [],
    expires_at: '2026-11-20T15:03:00.000Z',
    created_at: '2026-11-20T14:03:00.000Z',
    updated_at: '2026-11-20T14:03:00.000Z',
    version: 1,
    ...over,
  };
}

const deployment = (over: Partial<DeploymentView> = {}) =>
  ({ kind: 'deploy', replicas: 4, steps: [], ...over }) as Pick<DeploymentView, 'kind' | 'replicas' | 'steps'>;
const running = { image: 'ghcr.io/acme/shop-api:1.4.2', replicas: 3, revision: 7 } as Release;

/** Every renderer's payload for a card: what each platform is sent. */
const rendered = (card: ApprovalCard) => ({
  slack: slackApprovalMessage(card),
  feishu: feishuApprovalCard(card),
  dingtalk: dingTalkApprovalCard(card),
  wecom: card.state === 'pending' ? weComApprovalCard(card, 'task_1') : weComFollowUp(card),
});

describe('the approval card', () => {
  it('while pending, carries Approve/Reject with the approval id on every platform; Slack and Feishu ask for a comment', () => {
    const { slack, feishu, dingtalk, wecom } = rendered(approvalCard(approval(), deployment(), running));
    const actions = slack.blocks.find((b) => (b as { block_id?: string }).block_id === `approval:${ID}`) as {
      elements: { action_id: string; value: string }[];
    };
    expect(actions.elements.map((e) => [e.action_id, e.value])).toEqual([
      ['approve', ID],
      ['reject', ID],
    ]);
    expect(slack.blocks).toContainEqual(expect.objectContaining({ type: 'input', block_id: 'comment' }));
    const form = feishu.elements.find((e) => (e as { tag: string }).tag === 'form') as { elements: unknown[] };
    expect(form.elements).toEqual([
      expect.objectContaining({ tag: 'input', name: 'comment' }),
      expect.objectContaining({ action_type: 'form_submit', value: { action: 'approve', approval_id: ID } }),
      expect.objectContaining({ action_type: 'form_submit', value: { action: 'reject', approval_id: ID } }),
    ]);
    expect(feishu.config).toMatchObject({ update_multi: true });
    expect(JSON.stringify(dingtalk)).toContain(`"params":{"action":"approve","approval_id":"${ID}"}`);
    expect((wecom as ReturnType<typeof weComApprovalCard>).button_list.map((b) => b.key)).toEqual([
      `approve:${ID}`,
      `reject:${ID}`,
    ]);
  });

  it('shows the diff from the running release: image and replicas, or that it is the first', () => {
    const text = (card: ApprovalCard) => slackApprovalMessage(card).text;
    expect(text(approvalCard(approval(), deployment(), running))).toContain(
      'Image: `ghcr.io/acme/shop-api:1.4.2` → `ghcr.io/acme/shop-api:1.5.0`\nReplicas: 3 → 4\nApprovals: 0 of 2',
    );
    expect(
      text(approvalCard(approval(), deployment({ replicas: 3 }), { ...running, image: approval().image })),
    ).toContain('Image: `ghcr.io/acme/shop-api:1.5.0` (unchanged)\nReplicas: 3 (unchanged)');
    expect(text(approvalCard(approval(), deployment()))).toContain('(first release of prod)');
  });

  it('once decided, says who decided, how and when, and has no buttons left', () => {
    const votes = [
      { by: 'rm-bob', decision: 'approve' as const, at: '2026-11-20T14:05:00.000Z', via: 'slack' as const },
      { by: 'rm-carol', decision: 'approve' as const, at: '2026-11-20T14:06:00.000Z', comment: 'ship it' },
    ];
    const card = approvalCard(approval({ state: 'approved', votes, version: 3 }), deployment(), running);
    const all = rendered(card);
    for (const payload of Object.values(all)) {
      const json = JSON.stringify(payload);
      expect(json).toContain('Approved by rm-bob via Slack at 2026-11-20 14:05 UTC');
      expect(json).toContain('Approved by rm-carol via the API at 2026-11-20 14:06 UTC: “ship it”');
      expect(json).toContain('Approvals: 2 of 2');
      expect(json).not.toMatch(/"(approve|reject)"|approve:|form_submit|"input"/);
    }
    expect(all.slack.blocks[0]).toMatchObject({ text: { text: '✅ Approved: shop-api to prod' } });
  });

  it('an expired or cancelled one says so from the deployment step that closed it', () => {
    const cancelled = deployment({
      steps: [
        {
          state: 'cancelled',
          at: '2026-11-20T14:09:00.000Z',
          actor: 'dev-alice',
          detail: 'cancelled by dev-alice: wrong tag',
        },
      ],
    });
    expect(slackApprovalMessage(approvalCard(approval({ state: 'cancelled' }), cancelled)).text).toContain(
      'Cancelled by dev-alice at 2026-11-20 14:09 UTC: cancelled by dev-alice: wrong tag',
    );
    const expired = deployment({ steps: [{ state: 'expired', at: '2026-11-20T15:03:00.000Z', actor: 'system' }] });
    expect(slackApprovalMessage(approvalCard(approval({ state: 'expired' }), expired)).text).toContain(
      'Expired at 2026-11-20 15:03 UTC',
    );
  });

  it('links nothing without a public URL', () => {
    const saved = process.env.SLIPWAY_PUBLIC_URL;
    delete process.env.SLIPWAY_PUBLIC_URL;
    try {
      for (const payload of Object.values(rendered(approvalCard(approval(), deployment()))))
        expect(JSON.stringify(payload)).not.toMatch(/:\/\//);
    } finally {
      process.env.SLIPWAY_PUBLIC_URL = saved;
    }
  });
});

describe('what people wrote, on a card', () => {
  const HOSTILE = [
    '<https://evil.example/login|Approve here>',
    '[Approve here](https://evil.example/login)',
    '<!channel> <!here> <@U123> @all @here',
    '<at id=all></at> <@all>',
    '&lt;!channel&gt; &#60;at id=all&#62;',
    'see https://evil.example/phish',
  ];
  const piece = fc.oneof(fc.constantFrom(...HOSTILE, '<', '>', '[', ']', '&', '@', '://', '`'), fc.string());

  /** Every string a platform shows, and whether it is read as markup there; our own link taken out. */
  function shown(payload: unknown): { text: string; markup: boolean }[] {
    const texts: { text: string; markup: boolean }[] = [];
    const walk = (value: unknown, parent: Record<string, unknown>, key: string) => {
      if (typeof value === 'string') {
        // WeCom's follow-up is `markdown: { content }`; Feishu's plain_text also has `content`, but a tag.
        const markup =
          parent.type === 'mrkdwn' ||
          parent.tag === 'lark_md' ||
          parent.type === 'markdown' ||
          (key === 'content' && parent.tag === undefined);
        const text = value.replace(`\n[Open in Slipway](${LINK})`, '');
        if (text !== LINK) texts.push({ text, markup });
      } else if (value && typeof value === 'object') {
        const next = Array.isArray(value) ? parent : (value as Record<string, unknown>);
        for (const [k, v] of Object.entries(value)) walk(v, next, Array.isArray(value) ? key : k);
      }
    };
    walk(payload, {}, '');
    return texts;
  }

  it('stays text on every platform, and the only link is the approval on the public URL', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 5 }),
        fc.constantFrom('pending', 'rejected', 'cancelled'),
        (pieces, state) => {
          const words = pieces.join('');
          const card = approvalCard(
            approval({
              state: state as ApprovalView['state'],
              app_name: words,
              env: words,
              image: words,
              requested_by: words,
              votes:
                state === 'rejected'
                  ? [{ by: words, decision: 'reject', comment: words, at: '2026-11-20T14:05:00Z' }]
                  : [],
            }),
            deployment({ steps: [{ state: 'cancelled', at: '2026-11-20T14:09:00Z', actor: words, detail: words }] }),
            { ...running, image: words },
          );
          for (const [platform, payload] of Object.entries(rendered(card))) {
            expect(new Set(JSON.stringify(payload).match(/[a-z]+:\/\/[^"\s)\\]+/g) ?? []), platform).toEqual(
              new Set([LINK]),
            );
            for (const { text, markup } of shown(payload)) {
              expect(text, platform).not.toMatch(/:\/\//);
              expect(text, platform).not.toMatch(/(?<!\w)@/);
              if (!markup) continue;
              expect(text, platform).not.toMatch(/[<>]/);
              if (platform === 'slack') expect(text.replace(/&(amp|lt|gt);/g, ''), platform).not.toContain('&');
              else expect(text, platform).not.toMatch(/[[\]&]/);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
