/**
 * What a build is, as the API shows it and the build workflow moves it: one commit of an
 * application built into `<image_repository>:<sha>` by a Job on a build cluster. The API (or a
 * pipeline run) records it `queued`; the workflow makes it `running`, then `succeeded` with the
 * pushed digest, or `failed` / `cancelled` with a reason.
 */
import { type BuildState, type BuildView, FINAL_BUILD_STATES } from '../domain/build.ts';

export type { BuildState, BuildView };
export const FINAL_STATES: ReadonlySet<BuildState> = new Set(FINAL_BUILD_STATES);

const API = '/api/v1';
export const buildUrl = (id: string) => `${API}/builds/${id}`;
export const logsUrl = (id: string) => `${API}/builds/${id}/logs`;

/** What events about a build carry: enough for a chat line and an audit entry. */
export const eventData = (b: BuildView) => ({
  build_id: b.id,
  app_id: b.app_id,
  app_name: b.app_name,
  commit: { sha: b.commit.sha, ref: b.commit.ref },
  image: b.image,
  state: b.state,
  ...(b.run_id ? { run_id: b.run_id } : {}),
  ...(b.digest ? { digest: b.digest } : {}),
  ...(b.reason ? { reason: b.reason } : {}),
  requested_by: b.requested_by,
  url: b.logs_url,
});

/** The data of every `slipway.builds` event. */
export type BuildEventData = ReturnType<typeof eventData>;
