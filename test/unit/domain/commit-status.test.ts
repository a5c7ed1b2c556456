import { afterEach, describe, expect, it } from 'vitest';
import { repository } from '../../../shared/domain/app.ts';
import {
  isProviderApiUrl,
  repositoryPath,
  type StatusReport,
  statusHosts,
  statusRequest,
} from '../../../shared/domain/commit-status.ts';

const sha = 'a'.repeat(40);
const report = (state: StatusReport['state']): StatusReport => ({
  sha,
  ref: 'refs/heads/main',
  state,
  pipelineName: 'ci',
  targetUrl: 'https://slipway.example.com/api/v1/runs/run_1',
});
const github = { provider: 'github' as const, url: 'https://github.com/acme/shop-api.git' };
const gitlab = { provider: 'gitlab' as const, url: 'https://gitlab.com/acme/backend/shop-api' };

afterEach(() => {
  delete process.env.SLIPWAY_GITHUB_API_URL;
  delete process.env.SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS;
});

describe('a commit status for a run', () => {
  it('goes to GitHub as pending, success, failure, and error for a cancelled run, in context slipway/<pipeline>', () => {
    const states = (['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const).map(
      (state) => statusRequest(github, report(state))?.body.state,
    );
    expect(states).toEqual(['pending', 'pending', 'success', 'failure', 'error']);
    expect(statusRequest(github, report('running'))).toEqual({
      url: `https://api.github.com/repos/acme/shop-api/statuses/${sha}`,
      body: {
        state: 'pending',
        context: 'slipway/ci',
        description: 'Slipway: the run is running',
        target_url: 'https://slipway.example.com/api/v1/runs/run_1',
      },
    });
  });

  it('goes to GitLab with its own words (canceled), the project path encoded as its id, and the branch', () => {
    const states = (['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const).map(
      (state) => statusRequest(gitlab, report(state))?.body.state,
    );
    expect(states).toEqual(['pending', 'running', 'success', 'failed', 'canceled']);
    expect(statusRequest(gitlab, report('succeeded'))).toMatchObject({
      url: `https://gitlab.com/api/v4/projects/acme%2Fbackend%2Fshop-api/statuses/${sha}`,
      body: { name: 'slipway/ci', ref: 'main', state: 'success' },
    });
  });

  it('goes to the GitHub Enterprise or self-managed GitLab API the app names, and may go to its host', () => {
    const ghe = {
      ...github,
      url: 'https://ghe.example.com/acme/shop-api',
      api_base_url: 'https://ghe.example.com/api/v3/',
    };
    expect(statusRequest(ghe, report('running'))?.url).toBe(
      `https://ghe.example.com/api/v3/repos/acme/shop-api/statuses/${sha}`,
    );
    expect(statusHosts(ghe)).toEqual(['api.github.com', 'gitlab.com', 'ghe.example.com']);
    const own = { ...gitlab, api_base_url: 'https://gitlab.example.com/api/v4' };
    expect(statusRequest(own, report('running'))?.url).toMatch(/^https:\/\/gitlab\.example\.com\/api\/v4\/projects\//);
    expect(statusHosts(github)).toEqual(['api.github.com', 'gitlab.com']);
  });

  it('is not sent for a repository URL that names no repository', () => {
    expect(statusRequest({ ...github, url: 'https://github.com/acme' }, report('running'))).toBeUndefined();
    expect(statusRequest({ ...github, url: 'https://github.com/a/b/c' }, report('running'))).toBeUndefined();
    expect(repositoryPath('https://github.com/')).toBeUndefined();
    expect(repositoryPath('https://gitlab.com/g/sub/p.git')).toBe('g/sub/p');
  });

  it('goes where the platform points the public API (the local simulator) when the app names none', () => {
    process.env.SLIPWAY_GITHUB_API_URL = 'http://127.0.0.1:9999';
    expect(statusRequest(github, report('running'))?.url).toBe(
      `http://127.0.0.1:9999/repos/acme/shop-api/statuses/${sha}`,
    );
    expect(statusHosts(github)).toContain('127.0.0.1');
  });
});

describe('an app’s provider API base URL', () => {
  const withBase = (api_base_url: string) =>
    repository.safeParse({ provider: 'github', url: github.url, default_branch: 'main', api_base_url }).success;

  it('is https without credentials, query or fragment', () => {
    expect(withBase('https://ghe.example.com/api/v3')).toBe(true);
    expect(withBase('http://ghe.example.com/api/v3')).toBe(false);
    expect(withBase('https://user:pw@ghe.example.com/api/v3')).toBe(false);
    expect(withBase('https://ghe.example.com/api/v3?x=1')).toBe(false);
    expect(withBase('https://ghe.example.com/api/v3#x')).toBe(false);
    expect(withBase('ghe.example.com')).toBe(false);
  });

  it('may be http only on a host the platform allows for local providers', () => {
    expect(isProviderApiUrl('http://127.0.0.1:8080/api/v3')).toBe(false);
    process.env.SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS = '127.0.0.1';
    expect(isProviderApiUrl('http://127.0.0.1:8080/api/v3')).toBe(true);
    expect(isProviderApiUrl('http://10.0.0.1/api/v3')).toBe(false);
  });

  it('takes the status token only as a Secrets Manager ARN', () => {
    const withToken = (status_token_secret_arn: string) =>
      repository.safeParse({ provider: 'github', url: github.url, default_branch: 'main', status_token_secret_arn })
        .success;
    expect(withToken('arn:aws:secretsmanager:us-east-1:123456789012:secret:slipway/git-tokens/shop-AbCdEf')).toBe(true);
    expect(withToken('ghp_0123456789abcdef')).toBe(false);
  });
});
