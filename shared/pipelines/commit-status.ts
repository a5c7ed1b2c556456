/**
 * A run's moves reported to its commit at the Git provider (ADR 23): every `Pipeline Run …` event
 * of an app whose repository has a status token becomes one commit status, `slipway/<pipeline>`,
 * linking the run. A provider that is down or throttling (5xx, 429, no answer) throws, so the bus
 * retries with backoff and finally dead-letters the event; a refusal (other 4xx: bad token, unknown
 * commit) will not change on retry, so it is logged and dropped. The status posted is the run's
 * state as stored now, not the event's: events arrive out of order (a retried `Started` after
 * `Succeeded`), and the provider shows the latest status, so a late event must not set it back.
 */
import { config } from '../config.ts';
import { type StatusRepository, statusRequest } from '../domain/commit-status.ts';
import { RUN_STATES, type RunState } from '../domain/run.ts';
import type { ReceivedChangeEvent } from '../events/envelope.ts';
import { StatusNotDelivered, sendCommitStatus } from '../git/status-sender.ts';
import { keys } from '../store/keys.ts';
import { getMany } from '../store/table.ts';
import { pipelineKeys } from './keys.ts';

export type StatusOutcome =
  | { outcome: 'sent'; status: number }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'refused'; reason: string };

interface RunEvent {
  run_id: string;
  app_id: string;
  pipeline_name: string;
  state: RunState;
  url: string;
  commit: { sha: string; ref: string };
}

export async function reportRunStatus(change: ReceivedChangeEvent): Promise<StatusOutcome> {
  const run = runEventOf(change);
  if (!run) return { outcome: 'skipped', reason: `${change.type} is not a run event this reporter reads` };
  const [app, stored] = await getMany([keys.app(run.app_id), pipelineKeys.run(run.run_id)]);
  const repository = app?.repository as (StatusRepository & { status_token_secret_arn?: string }) | undefined;
  if (!repository?.status_token_secret_arn) return { outcome: 'skipped', reason: 'the app has no status token' };
  const request = statusRequest(repository, {
    sha: run.commit.sha,
    ref: run.commit.ref,
    state: RUN_STATES.includes(stored?.state) ? (stored?.state as RunState) : run.state,
    pipelineName: run.pipeline_name,
    targetUrl: config.publicUrl ? new URL(run.url, config.publicUrl).toString() : undefined,
  });
  if (!request) return { outcome: 'skipped', reason: `${repository.url} names no ${repository.provider} repository` };
  try {
    return { outcome: 'sent', status: await sendCommitStatus(repository, request, repository.status_token_secret_arn) };
  } catch (error) {
    if (isRefusal(error)) return { outcome: 'refused', reason: (error as Error).message };
    throw error;
  }
}

/** A 4xx other than 408/429, or a token that cannot be read: sending again would get the same answer. */
function isRefusal(error: unknown): boolean {
  if (error instanceof StatusNotDelivered) {
    const { status } = error;
    return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
  }
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'ResourceNotFoundException' || name === 'AccessDeniedException';
}

/** The event's data as written by shared/pipelines/model.ts, read defensively (another function's output). */
function runEventOf(change: ReceivedChangeEvent): RunEvent | undefined {
  if (!change.type.startsWith('Pipeline Run ')) return undefined;
  const data = change.data as Partial<RunEvent> | undefined;
  const ok =
    typeof data?.run_id === 'string' &&
    typeof data.app_id === 'string' &&
    typeof data.pipeline_name === 'string' &&
    typeof data.url === 'string' &&
    RUN_STATES.includes(data.state as RunState) &&
    typeof data.commit?.sha === 'string' &&
    typeof data.commit.ref === 'string';
  return ok ? (data as RunEvent) : undefined;
}
