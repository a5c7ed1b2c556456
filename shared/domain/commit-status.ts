/**
 * Commit statuses: what a run's state is called at each Git provider, and where the status of a
 * commit is posted (GitHub `POST /repos/{owner}/{repo}/statuses/{sha}`, GitLab
 * `POST /projects/{id}/statuses/{sha}`). Pure: the sender (shared/git) adds the token and posts.
 */
import { config } from '../config.ts';
import { hostMatches, normalizeHost } from '../net/addresses.ts';
import type { RunState } from './run.ts';

export type GitProvider = 'github' | 'gitlab';

/** The providers' public APIs: where statuses go unless the app names its own (GitHub Enterprise, self-managed GitLab). */
export const PUBLIC_API_URL: Readonly<Record<GitProvider, string>> = {
  github: 'https://api.github.com',
  gitlab: 'https://gitlab.com/api/v4',
};

/** GitHub knows pending/success/failure/error; GitLab has its own words, `canceled` with one l. */
const PROVIDER_STATE: Readonly<Record<GitProvider, Readonly<Record<RunState, string>>>> = {
  github: { queued: 'pending', running: 'pending', succeeded: 'success', failed: 'failure', cancelled: 'error' },
  gitlab: { queued: 'pending', running: 'running', succeeded: 'success', failed: 'failed', cancelled: 'canceled' },
};

const DESCRIPTION: Readonly<Record<RunState, string>> = {
  queued: 'Slipway: the run is queued',
  running: 'Slipway: the run is running',
  succeeded: 'Slipway: the run succeeded',
  failed: 'Slipway: the run failed',
  cancelled: 'Slipway: the run was cancelled',
};

/** What the status reporter needs of an app's repository. */
export interface StatusRepository {
  provider: GitProvider;
  url: string;
  api_base_url?: string;
}

export interface StatusReport {
  sha: string;
  /** The full ref the run was started for (`refs/heads/main`); GitLab pins the status to it. */
  ref: string;
  state: RunState;
  pipelineName: string;
  /** The run on Slipway's public URL. */
  targetUrl: string | undefined;
}

export interface StatusRequest {
  url: string;
  body: Record<string, string>;
}

/** The provider's status call for this report, or undefined when the repository URL names no repository. */
export function statusRequest(repository: StatusRepository, report: StatusReport): StatusRequest | undefined {
  const path = repositoryPath(repository.url);
  if (!path) return undefined;
  const base = (repository.api_base_url ?? defaultApiUrl(repository.provider)).replace(/\/+$/, '');
  const state = PROVIDER_STATE[repository.provider][report.state];
  const context = `slipway/${report.pipelineName}`;
  const shown = {
    description: DESCRIPTION[report.state],
    ...(report.targetUrl ? { target_url: report.targetUrl } : {}),
  };
  if (repository.provider === 'github') {
    const [owner, repo, ...rest] = path.split('/');
    if (!owner || !repo || rest.length > 0) return undefined;
    return { url: `${base}/repos/${owner}/${repo}/statuses/${report.sha}`, body: { state, context, ...shown } };
  }
  const ref = report.ref.replace(/^refs\/(heads|tags)\//, '');
  return {
    url: `${base}/projects/${encodeURIComponent(path)}/statuses/${report.sha}`,
    body: { state, name: context, ref, ...shown },
  };
}

/** `https://github.com/acme/shop.git` → `acme/shop` (GitLab: `group/sub/project`); undefined without a path. */
export function repositoryPath(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const path = decodeURIComponent(new URL(url).pathname)
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '');
  return /^[\w.-]+(?:\/[\w.-]+)+$/.test(path) ? path : undefined;
}

/** The provider's public API, or where the platform points it (the local cloud's Git provider simulator). */
export function defaultApiUrl(provider: GitProvider): string {
  return (provider === 'github' ? config.githubApiUrl : config.gitlabApiUrl) ?? PUBLIC_API_URL[provider];
}

/** Hosts statuses may be posted to: the public APIs', the app's own, and the platform's defaults. */
export function statusHosts(repository: StatusRepository): string[] {
  const urls = [PUBLIC_API_URL.github, PUBLIC_API_URL.gitlab, defaultApiUrl(repository.provider)];
  if (repository.api_base_url) urls.push(repository.api_base_url);
  return [...new Set(urls.filter((u) => URL.canParse(u)).map((u) => normalizeHost(new URL(u).hostname)))];
}

/** An API base URL people may give: https without credentials, or http to a host the platform allows (local providers). */
export function isProviderApiUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  if (!url.hostname || url.username || url.password || url.search || url.hash) return false;
  if (url.protocol === 'https:') return true;
  const host = normalizeHost(url.hostname);
  return url.protocol === 'http:' && config.gitAllowPrivateHosts.some((pattern) => hostMatches(host, pattern));
}
