import { latestCheckpoint, requestCheckpoint } from '../../shared/audit/checkpoints.ts';
import { auditFilter, listAuditEntries, subjectParam, verifyAuditChain } from '../../shared/audit/queries.ts';
import { checkpointRequest } from '../../shared/domain/audit.ts';
import { api } from '../../shared/http/api.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { json } from '../../shared/http/response.ts';

const base = '/api/v1/audit';
const latest = `${base}/checkpoints/latest`;

export const handler = api({
  [`GET ${base}`]: async (req) =>
    json(200, await listAuditEntries(req.caller, auditFilter(req.query), parsePageRequest(req.query))),

  [`GET ${base}/verify`]: async (req) => json(200, await verifyAuditChain(req.caller, subjectParam(req.query))),

  // The checkpointer takes it from the bus: 202, and the newest checkpoint is where to look.
  [`POST ${base}/checkpoints`]: async (req) => {
    const respond = (view: unknown) => json(202, view, { location: latest });
    const request = await requestCheckpoint(req.caller, req.body(checkpointRequest).reason, req.alsoCommit(respond));
    return respond(request);
  },

  [`GET ${latest}`]: async (req) => json(200, await latestCheckpoint(req.caller)),
});
