import { auditFilter, listAuditEntries, subjectParam, verifyAuditChain } from '../../shared/audit/queries.ts';
import { api } from '../../shared/http/api.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { json } from '../../shared/http/response.ts';

const base = '/api/v1/audit';

export const handler = api({
  [`GET ${base}`]: async (req) =>
    json(200, await listAuditEntries(req.caller, auditFilter(req.query), parsePageRequest(req.query))),

  [`GET ${base}/verify`]: async (req) => json(200, await verifyAuditChain(req.caller, subjectParam(req.query))),
});
