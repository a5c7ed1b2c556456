import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listFires,
  listSchedules,
  updateSchedule,
} from '../../shared/calendar/schedules.ts';
import { newSchedule, type ScheduleView } from '../../shared/domain/schedule.ts';
import { jsonObject } from '../../shared/domain/validate.ts';
import { api } from '../../shared/http/api.ts';
import { expectedVersion } from '../../shared/http/etag.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId } from '../../shared/http/params.ts';
import { created, json, noContent, resource } from '../../shared/http/response.ts';

/** Scheduled deploys, promotions and rollbacks; their fires arrive at functions/schedule-fire. */
const base = '/api/v1/schedules';
const scheduleCreated = (s: ScheduleView) => created(s, `${base}/${s.id}`);
const scheduleId = (id: string | undefined) => pathId(id, 'sch', 'Schedule');

export const handler = api({
  [`POST ${base}`]: async (req) =>
    scheduleCreated(await createSchedule(req.caller, req.body(newSchedule), req.alsoCommit(scheduleCreated))),

  [`GET ${base}`]: async (req) =>
    json(
      200,
      await listSchedules(
        req.caller,
        { app_id: req.query.app_id, project_id: req.query.project_id },
        parsePageRequest(req.query),
      ),
    ),

  [`GET ${base}/{id}`]: async (req) => resource(200, await getSchedule(req.caller, scheduleId(req.params.id))),

  [`PATCH ${base}/{id}`]: async (req) => {
    const expected = expectedVersion(req.header('if-match'));
    const patch = req.body(jsonObject);
    return resource(200, await updateSchedule(req.caller, scheduleId(req.params.id), patch, expected));
  },

  [`DELETE ${base}/{id}`]: async (req) => {
    await deleteSchedule(req.caller, scheduleId(req.params.id), expectedVersion(req.header('if-match')));
    return noContent();
  },

  [`GET ${base}/{id}/fires`]: async (req) =>
    json(200, await listFires(req.caller, scheduleId(req.params.id), parsePageRequest(req.query))),
});
