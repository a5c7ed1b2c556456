/**
 * Deliveries shaped like the providers' documented examples (GitHub "Webhook events and payloads",
 * GitLab "Webhook events"), trimmed to a realistic subset of their fields, and signed as they sign.
 */
import { randomUUID } from 'node:crypto';
import { githubSignature } from '../../../shared/hooks/signature.ts';

const SHA = 'c0ffee1234567890abcdef1234567890abcdef12';
const ZERO = '0000000000000000000000000000000000000000';

const githubRepository = (url: string) => ({
  id: 186853002,
  node_id: 'MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=',
  name: url.split('/').at(-1),
  full_name: new URL(url).pathname.slice(1),
  private: false,
  owner: { login: 'acme', id: 21031067, type: 'Organization' },
  html_url: url,
  clone_url: `${url}.git`,
  default_branch: 'main',
});

export function githubPush(o: { repo: string; ref: string; sha?: string; deleted?: boolean; commits?: unknown[] }) {
  const sha = o.sha ?? SHA;
  const commit = {
    id: sha,
    tree_id: 'f9d2a07e9488b91af2641b26b9407fe22a451433',
    distinct: true,
    message: 'Ship the cart',
    timestamp: '2026-12-04T10:00:00+00:00',
    url: `${o.repo}/commit/${sha}`,
    author: { name: 'Alice', email: 'alice@example.com', username: 'alice' },
    committer: { name: 'Alice', email: 'alice@example.com', username: 'alice' },
    added: ['src/cart.ts'],
    removed: ['old.txt'],
    modified: ['README.md'],
  };
  const commits = o.deleted ? [] : (o.commits ?? [commit]);
  return {
    ref: o.ref,
    before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    after: o.deleted ? ZERO : sha,
    created: false,
    deleted: o.deleted ?? false,
    forced: false,
    base_ref: null,
    compare: `${o.repo}/compare/6113728f27ae...${sha.slice(0, 12)}`,
    commits,
    head_commit: o.deleted ? null : commit,
    repository: githubRepository(o.repo),
    pusher: { name: 'alice', email: 'alice@example.com' },
    sender: { login: 'alice', id: 21031067 },
  };
}

export function githubPullRequest(o: { repo: string; action: string; sha?: string }) {
  return {
    action: o.action,
    number: 42,
    pull_request: {
      url: `https://api.github.com/repos/acme/shop-api/pulls/42`,
      id: 279147437,
      number: 42,
      state: 'open',
      title: 'Add the cart',
      user: { login: 'alice', id: 21031067 },
      head: { label: 'acme:feature/cart', ref: 'feature/cart', sha: o.sha ?? SHA, repo: githubRepository(o.repo) },
      base: { label: 'acme:main', ref: 'main', sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246' },
    },
    repository: githubRepository(o.repo),
    sender: { login: 'alice', id: 21031067 },
  };
}

export function githubPing() {
  return {
    zen: 'Keep it logically awesome.',
    hook_id: 30,
    hook: { type: 'Repository', id: 30, events: ['push', 'pull_request'], active: true },
  };
}

const gitlabProject = (url: string) => ({
  id: 15,
  name: url.split('/').at(-1),
  web_url: url,
  git_ssh_url: `git@${new URL(url).host}:${new URL(url).pathname.slice(1)}.git`,
  git_http_url: `${url}.git`,
  namespace: 'acme',
  path_with_namespace: new URL(url).pathname.slice(1),
  default_branch: 'main',
});

export function gitlabPush(o: { repo: string; ref: string; sha?: string; deleted?: boolean }) {
  const sha = o.sha ?? SHA;
  const commits = o.deleted
    ? []
    : [
        {
          id: sha,
          message: 'Ship the cart',
          title: 'Ship the cart',
          timestamp: '2026-12-04T10:00:00+00:00',
          url: `${o.repo}/-/commit/${sha}`,
          author: { name: 'Alice', email: 'alice@example.com' },
          added: ['src/cart.ts'],
          modified: ['README.md'],
          removed: [],
        },
      ];
  return {
    object_kind: o.ref.startsWith('refs/tags/') ? 'tag_push' : 'push',
    event_name: o.ref.startsWith('refs/tags/') ? 'tag_push' : 'push',
    before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
    after: o.deleted ? ZERO : sha,
    ref: o.ref,
    checkout_sha: o.deleted ? null : sha,
    user_id: 4,
    user_name: 'Alice',
    user_username: 'alice',
    project_id: 15,
    project: gitlabProject(o.repo),
    commits,
    total_commits_count: commits.length,
    repository: { name: 'shop-api', url: `${o.repo}.git`, homepage: o.repo, git_http_url: `${o.repo}.git` },
  };
}

export function gitlabMergeRequest(o: { repo: string; action?: string; sha?: string }) {
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: { id: 1, name: 'Alice', username: 'alice' },
    project: gitlabProject(o.repo),
    object_attributes: {
      id: 99,
      iid: 7,
      title: 'Add the cart',
      state: 'opened',
      action: o.action ?? 'open',
      source_branch: 'feature/cart',
      target_branch: 'main',
      last_commit: { id: o.sha ?? SHA, message: 'Add the cart', author: { name: 'Alice', email: 'alice@example.com' } },
    },
    repository: { name: 'shop-api', url: `${o.repo}.git`, homepage: o.repo },
  };
}

/** Headers GitHub sends with a delivery, signed with `secret`. */
export function githubHeaders(event: string, body: string, secret: string, delivery: string = randomUUID()) {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/044aadd',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-github-hook-id': '30',
    'x-hub-signature-256': githubSignature(secret, body),
  };
}

/** Headers GitLab sends: the token itself, the event name, and its idempotency key. */
export function gitlabHeaders(event: string, token: string, delivery: string = randomUUID()) {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitLab/17.6.0',
    'x-gitlab-event': event,
    'x-gitlab-token': token,
    'x-gitlab-event-uuid': delivery,
    'idempotency-key': delivery,
  };
}
