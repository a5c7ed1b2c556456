/**
 * What a Git provider delivery says, in our words: a push (branch or tag), a pull/merge request,
 * a ping, or an event we do not act on. The providers' payloads are large and loose; only the
 * fields we use are read (loose schemas), and a handled event missing one is malformed (400).
 */
import * as z from 'zod/mini';
import { unprocessable } from '../errors.ts';
import { committedAt } from './commit.ts';
import { validate } from './validate.ts';

/** The event kinds an endpoint can be created for; a ping is always accepted. */
export const HOOK_EVENTS = ['push', 'tag_push', 'pull_request'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Where a delivery says it comes from: the repository's provider id and its URLs. */
export interface RepositoryRef {
  id: string;
  urls: string[];
}

export type GitEvent =
  | { kind: 'ping' }
  | {
      kind: 'push';
      event: 'push' | 'tag_push';
      ref: string;
      sha: string;
      /** The branch or tag was deleted: nothing to build. */
      deleted: boolean;
      commits: number;
      /** Every path the commits added, modified or removed; undefined when too many to keep. */
      paths?: string[];
      message?: string;
      author?: string;
      /** The head commit's time, when the provider gave a valid one: the start of its DORA lead time. */
      committed_at?: string;
      repository: RepositoryRef;
    }
  | {
      kind: 'pull_request';
      event: 'pull_request';
      action: string;
      number: number;
      /** The head branch (full ref) and commit: what a build-only run builds. */
      ref: string;
      sha: string;
      message?: string;
      repository: RepositoryRef;
    }
  | { kind: 'ignored'; reason: string };

/** Actions of a pull/merge request that bring new code to build. */
const PR_BUILD_ACTIONS = new Set(['opened', 'synchronize', 'reopened', 'open', 'update', 'reopen']);
/** More paths than this (or longer in all) are not kept: path filters then pass, as for an unknown list. */
export const MAX_PATHS = 1000;
const MAX_PATH_CHARS = 100_000;
const ZERO_SHA = /^0{40}$/;

const sha = z.string().check(z.regex(/^[0-9a-f]{40}$/));
const ref = z.string().check(z.minLength(1), z.maxLength(255), z.regex(/^refs\/(heads|tags)\/[!-~]+$/));
const url = z.string().check(z.maxLength(2048));
const files = z._default(z.array(z.string().check(z.maxLength(4096))), []);
const commit = z.looseObject({
  id: z.optional(z.string()),
  message: z.optional(z.string()),
  author: z.optional(z.looseObject({ name: z.optional(z.string()), email: z.optional(z.string()) })),
  timestamp: z.optional(z.string()),
  added: files,
  modified: files,
  removed: files,
});

const githubRepo = z.looseObject({
  id: z.union([z.number(), z.string()]),
  clone_url: z.optional(url),
  html_url: z.optional(url),
});
const githubPush = z.looseObject({
  ref,
  after: sha,
  deleted: z._default(z.boolean(), false),
  commits: z._default(z.array(commit), []),
  head_commit: z.optional(z.nullable(commit)),
  repository: githubRepo,
});
const githubPull = z.looseObject({
  action: z.string(),
  number: z.number(),
  pull_request: z.looseObject({
    title: z.optional(z.string()),
    head: z.looseObject({ ref: z.string().check(z.minLength(1), z.maxLength(240)), sha }),
  }),
  repository: githubRepo,
});

const gitlabProject = z.looseObject({
  id: z.union([z.number(), z.string()]),
  git_http_url: z.optional(url),
  web_url: z.optional(url),
});
const gitlabPush = z.looseObject({
  ref,
  after: sha,
  checkout_sha: z.optional(z.nullable(z.string())),
  total_commits_count: z.optional(z.number()),
  commits: z._default(z.array(commit), []),
  project: gitlabProject,
});
const gitlabMerge = z.looseObject({
  object_attributes: z.looseObject({
    action: z._default(z.string(), 'open'),
    iid: z.number(),
    title: z.optional(z.string()),
    source_branch: z.string().check(z.minLength(1), z.maxLength(240)),
    last_commit: z.looseObject({ id: sha }),
  }),
  project: gitlabProject,
});

/** The event's name as the provider sends it in X-GitHub-Event / X-Gitlab-Event. */
export function gitEvent(provider: 'github' | 'gitlab', eventName: string, payload: unknown): GitEvent {
  if (provider === 'github') {
    if (eventName === 'ping') return { kind: 'ping' };
    if (eventName === 'push') {
      const p = validate(githubPush, payload, 'The push payload');
      return push(p.ref, p.after, p.deleted, p.commits, p.head_commit ?? undefined, {
        id: String(p.repository.id),
        urls: [p.repository.clone_url, p.repository.html_url].filter((u): u is string => u !== undefined),
      });
    }
    if (eventName === 'pull_request') {
      const p = validate(githubPull, payload, 'The pull_request payload');
      return pullRequest(p.action, p.number, p.pull_request.head.ref, p.pull_request.head.sha, p.pull_request.title, {
        id: String(p.repository.id),
        urls: [p.repository.clone_url, p.repository.html_url].filter((u): u is string => u !== undefined),
      });
    }
    return { kind: 'ignored', reason: `GitHub event ${eventName.slice(0, 64)} is not acted on` };
  }
  if (eventName === 'Push Hook' || eventName === 'Tag Push Hook') {
    const p = validate(gitlabPush, payload, 'The push payload');
    const deleted = ZERO_SHA.test(p.after) || p.checkout_sha === null;
    const head = p.commits.find((c) => c.id === p.after) ?? p.commits.at(-1);
    return push(p.ref, p.after, deleted, p.commits, head, gitlabRepository(p.project), p.total_commits_count);
  }
  if (eventName === 'Merge Request Hook') {
    const p = validate(gitlabMerge, payload, 'The merge_request payload');
    const mr = p.object_attributes;
    return pullRequest(mr.action, mr.iid, mr.source_branch, mr.last_commit.id, mr.title, gitlabRepository(p.project));
  }
  return { kind: 'ignored', reason: `GitLab event ${eventName.slice(0, 64)} is not acted on` };
}

type PayloadCommit = z.infer<typeof commit>;

function push(
  fullRef: string,
  after: string,
  deleted: boolean,
  commits: PayloadCommit[],
  head: PayloadCommit | undefined,
  repository: RepositoryRef,
  total = commits.length,
): GitEvent {
  const paths = [...new Set(commits.flatMap((c) => [...c.added, ...c.modified, ...c.removed]))];
  const author = head?.author?.name && `${head.author.name}${head.author.email ? ` <${head.author.email}>` : ''}`;
  return {
    kind: 'push',
    event: fullRef.startsWith('refs/tags/') ? 'tag_push' : 'push',
    ref: fullRef,
    sha: after,
    deleted: deleted || ZERO_SHA.test(after),
    commits: total,
    ...(paths.length <= MAX_PATHS && paths.join('').length <= MAX_PATH_CHARS ? { paths } : {}),
    ...(head?.message ? { message: head.message.slice(0, 2000) } : {}),
    ...(author ? { author: author.slice(0, 256) } : {}),
    // A time that does not parse is left out, not refused: the push is still worth building.
    ...(committedAt.safeParse(head?.timestamp).success ? { committed_at: head?.timestamp as string } : {}),
    repository,
  };
}

function pullRequest(
  action: string,
  number: number,
  branch: string,
  headSha: string,
  title: string | undefined,
  repository: RepositoryRef,
): GitEvent {
  if (!PR_BUILD_ACTIONS.has(action)) return { kind: 'ignored', reason: `pull request action ${action.slice(0, 64)}` };
  return {
    kind: 'pull_request',
    event: 'pull_request',
    action,
    number,
    ref: `refs/heads/${branch}`,
    sha: headSha,
    ...(title ? { message: title.slice(0, 2000) } : {}),
    repository,
  };
}

const gitlabRepository = (project: z.infer<typeof gitlabProject>): RepositoryRef => ({
  id: String(project.id),
  urls: [project.git_http_url, project.web_url].filter((u): u is string => u !== undefined),
});

/** `https://GitHub.com/Acme/Api.git/` and `https://github.com/acme/api` are the same repository. */
export function sameRepository(a: string, b: string): boolean {
  const canonical = (text: string) => {
    try {
      const u = new URL(text);
      return `${u.host}${u.pathname}`
        .toLowerCase()
        .replace(/\/+$/, '')
        .replace(/\.git$/, '');
    } catch {
      return undefined;
    }
  };
  const left = canonical(a);
  return left !== undefined && left === canonical(b);
}

/**
 * A delivery must come from the application's bound repository: its provider id (when the endpoint
 * was given one) or one of its URLs.
 */
export function checkRepository(
  delivered: RepositoryRef,
  bound: { url: string; repositoryId?: string | undefined },
): void {
  if (bound.repositoryId !== undefined && delivered.id === bound.repositoryId) return;
  if (delivered.urls.some((u) => sameRepository(u, bound.url))) return;
  throw unprocessable(
    'repository-mismatch',
    `The delivery is for repository ${delivered.id} (${delivered.urls[0] ?? 'no URL'}), not the application's ${bound.url}.`,
  );
}
