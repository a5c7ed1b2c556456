import { createFreeze, deleteFreeze, getFreeze, listFreezes, updateFreeze } from '../../shared/calendar/freezes.ts';
import type { FreezeView } from '../../shared/domain/freeze.ts';
import { newFreeze } from '../../shared/domain/freeze.ts';
import { jsonObject } from '../../shared/domain/validate.ts';
import { api } from '../../shared/http/api.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';

/** Freeze windows; the freeze check itself runs inside every deploy (shared/delivery/deployments.ts). */
const base = '/api/v1/freezes';
const freezeCreated = (f: FreezeView) => created(f, `${base}/${f.id}`);
const freezeId = (id: string | undefined) => pathId(id, 'frz', 'Freeze');

export const handler = api({
  [`GET ${base}`]: async (req) =>
    json(200, await listFreezes(req.caller, req.query.scope, parsePageRequest(req.query))),

  [`POST ${base}`]: async (req) =>
    freezeCreated(await createFreeze(req.caller, req.body(newFreeze), req.alsoCommit(freezeCreated))),

  [`GET ${base}/{id}`]: async (req) => resource(200, await getFreeze(req.caller, freezeId(req.params.id))),

  [`PATCH ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    return resource(200, await updateFreeze(req.caller, freezeId(req.params.id), req.body(jsonObject), expected));
  },

  [`DELETE ${base}/{id}`]: async (req) => {
    await deleteFreeze(req.caller, freezeId(req.params.id), expectedVersion(req.header('if-match')));
    return noContent();
  },
});
