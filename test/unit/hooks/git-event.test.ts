import { describe, expect, it } from 'vitest';
import { checkRepository, gitEvent, sameRepository } from '../../../shared/domain/git-event.ts';
import {
  githubPing,
  githubPullRequest,
  githubPush,
  gitlabMergeRequest,
  gitlabPush,
} from '../../integration/hooks/payloads.ts';

const repo = 'https://github.com/acme/shop-api';

describe('reading provider deliveries', () => {
  it('a GitHub push: its ref, head commit, author and every touched path', () => {
    const git = gitEvent('github', 'push', githubPush({ repo, ref: 'refs/heads/main' }));
    expect(git).toMatchObject({
      kind: 'push',
      event: 'push',
      ref: 'refs/heads/main',
      deleted: false,
      commits: 1,
      paths: ['src/cart.ts', 'README.md', 'old.txt'],
      author: 'Alice <alice@example.com>',
      committed_at: '2026-12-04T10:00:00+00:00',
    });
  });

  it('a push whose head commit time does not parse is still a push, without a commit time', () => {
    const payload = githubPush({ repo, ref: 'refs/heads/main' }) as { head_commit: Record<string, unknown> };
    payload.head_commit.timestamp = 'yesterday';
    const git = gitEvent('github', 'push', payload);
    expect(git).toMatchObject({ kind: 'push', ref: 'refs/heads/main' });
    expect(git).not.toHaveProperty('committed_at');
  });

  it('a GitHub tag push, and a branch deletion', () => {
    expect(gitEvent('github', 'push', githubPush({ repo, ref: 'refs/tags/v1.2.0', commits: [] }))).toMatchObject({
      event: 'tag_push',
      ref: 'refs/tags/v1.2.0',
    });
    expect(gitEvent('github', 'push', githubPush({ repo, ref: 'refs/heads/old', deleted: true }))).toMatchObject({
      deleted: true,
    });
  });

  it('a GitHub pull request builds its head; a closed one is ignored', () => {
    expect(gitEvent('github', 'pull_request', githubPullRequest({ repo, action: 'synchronize' }))).toMatchObject({
      kind: 'pull_request',
      ref: 'refs/heads/feature/cart',
      number: 42,
    });
    expect(gitEvent('github', 'pull_request', githubPullRequest({ repo, action: 'closed' }))).toMatchObject({
      kind: 'ignored',
    });
  });

  it('a GitLab push, a deleted branch (after = zeros), and a merge request', () => {
    const url = 'https://gitlab.com/acme/shop-api';
    expect(gitEvent('gitlab', 'Push Hook', gitlabPush({ repo: url, ref: 'refs/heads/main' }))).toMatchObject({
      kind: 'push',
      commits: 1,
    });
    expect(
      gitEvent('gitlab', 'Push Hook', gitlabPush({ repo: url, ref: 'refs/heads/x', deleted: true })),
    ).toMatchObject({
      deleted: true,
    });
    expect(gitEvent('gitlab', 'Merge Request Hook', gitlabMergeRequest({ repo: url }))).toMatchObject({
      kind: 'pull_request',
      ref: 'refs/heads/feature/cart',
    });
  });

  it('a ping, and events it does not act on', () => {
    expect(gitEvent('github', 'ping', githubPing())).toEqual({ kind: 'ping' });
    expect(gitEvent('github', 'issues', {})).toMatchObject({ kind: 'ignored' });
  });

  it('refuses a push without the fields it needs (400)', () => {
    expect(() => gitEvent('github', 'push', { ref: 'refs/heads/main' })).toThrow(/does not match/);
    expect(() => gitEvent('github', 'push', { ...githubPush({ repo, ref: 'main' }) })).toThrow(/does not match/);
  });
});

describe('the bound repository', () => {
  it('matches by URL (case, .git and a trailing slash aside) or by provider id', () => {
    expect(sameRepository('https://GitHub.com/Acme/Shop-API.git', repo)).toBe(true);
    expect(sameRepository('https://github.com/acme/shop-api/', repo)).toBe(true);
    expect(sameRepository('https://github.com/acme/shop-api-fork', repo)).toBe(false);
    expect(() => checkRepository({ id: '1', urls: ['https://github.com/evil/shop-api'] }, { url: repo })).toThrow(
      /not the application's/,
    );
    expect(() =>
      checkRepository({ id: '77', urls: ['https://github.com/renamed/x'] }, { url: repo, repositoryId: '77' }),
    ).not.toThrow();
  });
});
