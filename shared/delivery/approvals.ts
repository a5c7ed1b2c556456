/**
 * A protected environment's gate. The workflow opens an approval with its task token and waits;
 * approvers vote through the API; the last vote needed resumes the workflow (SendTaskSuccess),
 * a rejection fails its step (SendTaskFailure `ApprovalRejected`), and nobody answering lets the
 * step time out (`States.Timeout`), which the workflow records as expired.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope, envScope } from '../auth/scope.ts';
import { APPROVAL_STATES, type ApprovalState } from '../domain/deployment.ts';
import { conflict, forbidden, invalid, notFound } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import type { ChatKind } from '../notify/channels.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { present } from '../store/records.ts';
import { commit, getMany, type Item, queryPage, type Write } from '../store/table.ts';
import { recordMetric } from '../telemetry/metrics.ts';
import { deliveryIndexes, deliveryKeys } from './keys.ts';
import { type DeploymentView, eventData } from './model.ts';
import { actorOf, advance, advanceBeforeActing, DeploymentNotFound } from './progress.ts';
import { failWorkflowStep, resumeWorkflow } from './workflow.ts';

export interface Vote {
  by: string;
  decision: 'approve' | 'reject';
  comment?: string;
  at: string;
  /** The chat platform the vote came from; absent for the API. */
  via?: ChatKind;
}

export interface ApprovalView {
  id: string;
  deployment_id: string;
  app_id: string;
  app_name: string;
  project_id: string;
  env: string;
  image: string;
  requested_by: string;
  state: ApprovalState;
  approver_teams: string[];
  minimum_approvals: number;
  prevent_self_approval: boolean;
  votes: Vote[];
  expires_at: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface Protection {
  requires_approval: boolean;
  approver_teams: string[];
  minimum_approvals: number;
  prevent_self_approval: boolean;
  approval_timeout_minutes: number;
}

/** The protection of the deployment's environment, which decides whether its workflow waits for approval. */
export async function protectionOf(
  deployment: Pick<DeploymentView, 'app_id' | 'app_name' | 'env'>,
): Promise<Protection> {
  const [env] = await getMany([keys.env(deployment.app_id, deployment.env)]);
  if (!env) throw new DeploymentNotFound(`Environment ${deployment.env} of ${deployment.app_name} no longer exists`);
  return env.protection as Protection;
}

/** One approval per deployment: a retried request step finds the same record and refreshes its token. */
export const approvalIdOf = (deploymentId: string) => `apr_${deploymentId.slice(4)}`;

const stateIndex = (state: ApprovalState) => ({ GSI1PK: deliveryIndexes.approvalsInState(state) });

/** The workflow's approval step: record the request and its token, tell the approvers. */
export async function openApproval(
  deployment: Item & DeploymentView,
  protection: Protection,
  token: string,
  timeoutSeconds: number,
): Promise<ApprovalView> {
  const now = new Date();
  const id = approvalIdOf(deployment.id);
  const view: ApprovalView = {
    id,
    deployment_id: deployment.id,
    app_id: deployment.app_id,
    app_name: deployment.app_name,
    project_id: deployment.project_id,
    env: deployment.env,
    image: deployment.image,
    requested_by: deployment.requested_by,
    state: 'pending',
    approver_teams: protection.approver_teams,
    minimum_approvals: protection.minimum_approvals,
    prevent_self_approval: protection.prevent_self_approval,
    votes: [],
    expires_at: new Date(now.getTime() + timeoutSeconds * 1000).toISOString(),
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    version: 1,
  };
  const approvalWrite: Write = {
    put: { ...deliveryKeys.approval(id), ...stateIndex('pending'), GSI1SK: id, ...view, _token: token },
    condition: 'attribute_not_exists(PK) OR #state = :pending',
    names: { '#state': 'state' },
    values: { ':pending': 'pending' },
    onFail: () => conflict('approval-closed', 'This approval has already been decided.'),
  };
  // Recorded with its token, or not at all: a deployment cancelled meanwhile gets no approval to wait on.
  await advanceBeforeActing(deployment, {
    step: { state: 'waiting_for_approval', detail: `needs ${protection.minimum_approvals} approval(s)` },
    set: { approval_id: id },
    event: 'Deployment Waiting For Approval',
    also: [
      approvalWrite,
      recordChange(actorOf(deployment), {
        type: 'Approval Requested',
        subject: `approval/${id}`,
        project_id: view.project_id,
        data: {
          ...eventData(deployment),
          approval_id: id,
          links: { approve: `/api/v1/approvals/${id}` },
          approver_teams: view.approver_teams,
          minimum_approvals: view.minimum_approvals,
          expires_at: view.expires_at,
        },
      }),
    ],
  });
  return view;
}

/** `POST /approvals/{id}/approve|reject`, and the same decision from a chat button or command (`via` its platform). */
export async function decide(
  caller: Caller,
  id: string,
  decision: 'approve' | 'reject',
  comment: string | undefined,
  { via }: { via?: ChatKind } = {},
): Promise<ApprovalView> {
  const { access, items } = await signInAndRead(caller, [deliveryKeys.approval(id)]);
  const approval = items[0];
  if (!approval || !access.can('app.read', appScope(approval.project_id as string, approval.app_id as string))) {
    throw notFound('Approval');
  }
  const view = present<ApprovalView>(approval);
  // Who may decide comes first: a caller who may not gets 403 whatever the approval's state.
  await requireApprover(caller, view, access.can('approval.decide', envScope(view.project_id, view.app_id, view.env)));
  if (view.state !== 'pending') throw conflict('approval-closed', `This approval is already ${view.state}.`);
  if (decision === 'approve' && view.prevent_self_approval && view.requested_by === caller.sub) {
    throw forbidden('This environment forbids approving your own deployment; another approver must decide.');
  }
  if (view.votes.some((v) => v.by === caller.sub))
    throw conflict('already-voted', 'You have already voted on this approval.');

  const vote: Vote = {
    by: caller.sub,
    decision,
    at: new Date().toISOString(),
    ...(comment ? { comment } : {}),
    ...(via ? { via } : {}),
  };
  const votes = [...view.votes, vote];
  const approvals = votes.filter((v) => v.decision === 'approve').length;
  const state: ApprovalState =
    decision === 'reject' ? 'rejected' : approvals >= view.minimum_approvals ? 'approved' : 'pending';
  const next: ApprovalView = { ...view, votes, state, updated_at: vote.at, version: view.version + 1 };
  const type =
    state === 'approved' ? 'Approval Granted' : state === 'rejected' ? 'Approval Rejected' : 'Approval Vote Cast';
  await commit([
    {
      put: { ...approval, ...next, ...stateIndex(state) },
      condition: '#version = :version',
      names: { '#version': 'version' },
      values: { ':version': view.version },
      onFail: () =>
        conflict('concurrent-vote', 'Another vote was recorded at the same time; read the approval and retry.'),
    },
    recordChange(caller, {
      type,
      subject: `approval/${id}`,
      project_id: view.project_id,
      data: {
        approval_id: id,
        deployment_id: view.deployment_id,
        app_name: view.app_name,
        env: view.env,
        image: view.image,
        decision,
        ...(comment ? { comment } : {}),
        approvals,
        minimum_approvals: view.minimum_approvals,
        ...(via ? { via } : {}),
      },
    }),
  ]);
  if (state !== 'pending') recordMetric('ApprovalsDecided', 1, { Decision: state });
  const token = approval._token as string;
  if (state === 'approved') await resumeWorkflow(token, { approval_id: id, approved_by: votes.map((v) => v.by) });
  if (state === 'rejected')
    await failWorkflowStep(token, 'ApprovalRejected', `${caller.sub}: ${comment ?? 'rejected'}`);
  return next;
}

/** Members of the environment's approver teams decide; without teams, whoever may decide approvals there. */
async function requireApprover(caller: Caller, approval: ApprovalView, mayDecide: boolean): Promise<void> {
  if (approval.approver_teams.length === 0) {
    if (!mayDecide) throw forbidden(`You need the approval.decide permission on ${approval.env} to decide.`);
    return;
  }
  const memberships = await getMany(approval.approver_teams.map((team) => keys.teamMember(team, caller.sub)));
  if (!memberships.some(Boolean)) {
    throw forbidden(`Only members of the approver teams (${approval.approver_teams.join(', ')}) may decide.`);
  }
}

/** The workflow's timeout path: nobody decided in time (or the workflow itself ended: `reason`). */
export async function expireApproval(
  deployment: Item & DeploymentView,
  reason = 'nobody decided the approval before it timed out',
): Promise<void> {
  const closing = await closePendingApproval(deployment, 'expired');
  const expired = await advance(deployment, {
    step: { state: 'expired', detail: reason },
    set: { reason: reason === 'nobody decided the approval before it timed out' ? 'approval expired' : reason },
    event: 'Deployment Expired',
    also: closing,
  });
  if (expired && closing.length > 0) recordMetric('ApprovalsExpired', 1, {});
}

/** The write that closes the deployment's approval, if one is still pending (none otherwise). */
export async function closePendingApproval(
  deployment: DeploymentView,
  state: 'expired' | 'cancelled',
): Promise<Write[]> {
  const id = deployment.approval_id;
  const [approval] = id ? await getMany([deliveryKeys.approval(id)]) : [];
  if (approval?.state !== 'pending') return [];
  return [
    {
      update: deliveryKeys.approval(id as string),
      set: 'SET #state = :closed, GSI1PK = :index, updated_at = :now, #version = #version + :one',
      condition: '#state = :pending',
      names: { '#state': 'state', '#version': 'version' },
      values: {
        ':closed': state,
        ':pending': 'pending',
        ':index': deliveryIndexes.approvalsInState(state),
        ':now': new Date().toISOString(),
        ':one': 1,
      },
      onFail: () => conflict('approval-closed', 'The approval was decided meanwhile.'),
    },
  ];
}

/** `GET /approvals?state=pending`: the ones the caller can see, newest first. */
export async function listApprovals(
  caller: Caller,
  state: string | undefined,
  page: PageRequest,
): Promise<Page<ApprovalView>> {
  const wanted = (state ?? 'pending') as ApprovalState;
  if (!(APPROVAL_STATES as readonly string[]).includes(wanted)) {
    throw invalid(`state must be one of ${APPROVAL_STATES.join(', ')}.`, [{ name: 'state', reason: 'unknown' }]);
  }
  const { access } = await signInAndRead(caller);
  const result = await queryPage({
    index: 'GSI1',
    partition: deliveryIndexes.approvalsInState(wanted),
    page,
    newestFirst: true,
  });
  const visible = result.items.filter((i) =>
    access.can('app.read', appScope(i.project_id as string, i.app_id as string)),
  );
  return { items: visible.map((i) => present<ApprovalView>(i)), next_cursor: result.next_cursor };
}

export async function getApproval(caller: Caller, id: string): Promise<ApprovalView> {
  const { access, items } = await signInAndRead(caller, [deliveryKeys.approval(id)]);
  const approval = items[0];
  if (!approval || !access.can('app.read', appScope(approval.project_id as string, approval.app_id as string))) {
    throw notFound('Approval');
  }
  return present<ApprovalView>(approval);
}
