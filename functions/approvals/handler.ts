import { decide, getApproval, listApprovals } from '../../shared/delivery/approvals.ts';
import { approvalDecision } from '../../shared/domain/deployment.ts';
import { api } from '../../shared/http/api.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { json } from '../../shared/http/response.ts';

const base = '/api/v1/approvals';
const approvalId = (id: string | undefined) => pathId(id, 'apr', 'Approval');

export const handler = api({
  [`GET ${base}`]: async (req) =>
    json(200, await listApprovals(req.caller, req.query.state, parsePageRequest(req.query))),

  [`GET ${base}/{id}`]: async (req) => json(200, await getApproval(req.caller, approvalId(req.params.id))),

  [`POST ${base}/{id}/approve`]: async (req) =>
    json(200, await decide(req.caller, approvalId(req.params.id), 'approve', req.body(approvalDecision).comment)),

  [`POST ${base}/{id}/reject`]: async (req) =>
    json(200, await decide(req.caller, approvalId(req.params.id), 'reject', req.body(approvalDecision).comment)),
});
