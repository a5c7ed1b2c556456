/**
 * Posts commit statuses to GitHub or GitLab with the app's token, through the notifier's SSRF-safe
 * sender: only the providers' hosts and the app's own API host, public addresses only (private ones
 * only for hosts the platform allows, the local simulator), no redirects, bounded time and answer.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { config } from '../config.ts';
import { type GitProvider, type StatusRepository, type StatusRequest, statusHosts } from '../domain/commit-status.ts';
import { ChatDeliveryFailed, safePost } from '../notify/safe-fetch.ts';

export { ChatDeliveryFailed as StatusNotDelivered };

/** Per status; the function's timeout leaves room for a token read and one post. */
export const STATUS_TIMEOUT_MS = 5_000;
/** Tokens are read again after this, so a rotated token is picked up without a deployment. */
const TOKEN_TTL_MS = 5 * 60_000;

const secrets = new SecretsManagerClient({});
const tokens = new Map<string, { at: number; token: Promise<string> }>();

/** The provider's authentication headers for its status API (GitHub wants a User-Agent and its media type). */
const AUTH: Readonly<Record<GitProvider, (token: string) => Record<string, string>>> = {
  github: (token) => ({
    authorization: `Bearer ${token}`,
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
  }),
  gitlab: (token) => ({ 'private-token': token }),
};

export async function sendCommitStatus(
  repository: StatusRepository,
  request: StatusRequest,
  tokenSecretArn: string,
): Promise<number> {
  const token = await providerToken(tokenSecretArn);
  const answer = await safePost(request.url, request.body, {
    allowedHosts: statusHosts(repository),
    allowPrivate: config.gitAllowPrivateHosts,
    timeoutMs: STATUS_TIMEOUT_MS,
    headers: { ...AUTH[repository.provider](token), 'user-agent': 'slipway' },
  });
  return answer.status;
}

function providerToken(secretArn: string): Promise<string> {
  const cached = tokens.get(secretArn);
  if (cached && Date.now() - cached.at < TOKEN_TTL_MS) return cached.token;
  const token = secrets.send(new GetSecretValueCommand({ SecretId: secretArn })).then(({ SecretString }) => {
    const value = SecretString?.trim();
    if (!value) throw new ChatDeliveryFailed('The status token secret holds no text', { status: 400 });
    return value;
  });
  tokens.set(secretArn, { at: Date.now(), token });
  token.catch(() => tokens.delete(secretArn));
  return token;
}
