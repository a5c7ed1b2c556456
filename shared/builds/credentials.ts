/**
 * What a build may present: the registry's credentials (to push) and a Git token (to clone a
 * private repository), each in Secrets Manager under the platform's build secret prefix
 * (`SLIPWAY_BUILD_SECRET_PREFIX`, default `slipway/builds/`), named after the host:
 * `<prefix>registry/<registry host>` holds `{"username": "...", "password": "..."}`,
 * `<prefix>git/<git host>` holds the token (or `{"token": "..."}`). Only the builder may read them.
 * Either may be missing: a public repository needs no token, and a registry refuses an anonymous
 * push with an answer the build's log shows.
 */
import { config } from '../config.ts';
import { secretString } from '../k8s/credentials.ts';

export interface BuildCredentials {
  registry?: { host: string; username: string; password: string };
  git?: { username: string; token: string };
  /** Where each was looked for, for the build's log. */
  registrySecret: string;
  gitSecret: string;
}

/** The registry an image repository lives in; Docker Hub when its first part is no host. */
export function registryHost(imageRepository: string): string {
  const first = imageRepository.split('/')[0] ?? '';
  return /[.:]/.test(first) || first === 'localhost' ? first : 'docker.io';
}

export async function buildCredentials(
  imageRepository: string,
  repository: { url: string; provider: string },
): Promise<BuildCredentials> {
  const host = registryHost(imageRepository);
  const registrySecret = `${config.buildSecretPrefix}registry/${host}`;
  const gitSecret = `${config.buildSecretPrefix}git/${new URL(repository.url).host}`;
  const [registry, git] = await Promise.all([optionalSecret(registrySecret), optionalSecret(gitSecret)]);
  const login = registry === undefined ? undefined : registryLogin(registry, registrySecret);
  const token = git === undefined ? undefined : gitToken(git, gitSecret);
  return {
    registrySecret,
    gitSecret,
    ...(login ? { registry: { host, ...login } } : {}),
    ...(token ? { git: { username: gitUser(repository.provider), token } } : {}),
  };
}

/** What each provider takes as the user name of a token over HTTPS. */
export const gitUser = (provider: string) => (provider === 'gitlab' ? 'oauth2' : 'x-access-token');

/** A secret that may not exist: undefined then. */
async function optionalSecret(name: string): Promise<string | undefined> {
  try {
    return await secretString(name);
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** Errors name the secret, never quote it (JSON.parse's message would). */
function registryLogin(text: string, name: string): { username: string; password: string } {
  const parsed = parseJson(text) as { username?: unknown; password?: unknown } | undefined;
  if (typeof parsed?.username !== 'string' || typeof parsed.password !== 'string' || !parsed.password) {
    throw new BuildCredentialsInvalid(`Secret ${name} must be JSON with "username" and "password" strings`);
  }
  return { username: parsed.username, password: parsed.password };
}

function gitToken(text: string, name: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  const token = (parseJson(trimmed) as { token?: unknown } | undefined)?.token;
  if (typeof token !== 'string' || !token) throw new BuildCredentialsInvalid(`Secret ${name} must hold a token`);
  return token;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A stored credential Slipway cannot use: the secret must change, so the workflow does not retry. */
export class BuildCredentialsInvalid extends Error {
  override name = 'BuildCredentialsInvalid';
}

/** What the build's log must never show: each secret, and the base64 of each `user:secret` pair it sends. */
export function secretsToMask(credentials: Pick<BuildCredentials, 'registry' | 'git'>): string[] {
  const { registry, git } = credentials;
  const basic = (user: string, secret: string) => Buffer.from(`${user}:${secret}`).toString('base64');
  return [
    ...(registry ? [registry.password, basic(registry.username, registry.password)] : []),
    ...(git ? [git.token, basic(git.username, git.token)] : []),
  ];
}
