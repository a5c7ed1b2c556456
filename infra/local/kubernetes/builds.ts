/**
 * The simulated image builder: a container whose image names `kaniko` or `buildkit` "builds" instead
 * of running. It reads GIT_URL, GIT_SHA and IMAGE from its environment, clones the commit, prints
 * BuildKit's plain progress output at the simulator's pace, pushes, and ends with the pushed image
 * and a machine-readable digest line; its termination message is `{"digest":"sha256:…"}`. The digest
 * is sha256 of `<IMAGE>@<GIT_SHA>`, so tests can predict it. Failure rules (like `:bad` for rollouts):
 * a GIT_SHA starting `dead` fails the clone (exit 128), one starting `bad` fails `RUN npm ci` (exit 1);
 * a builder image tagged `:hang` stalls while pushing. On purpose, a REGISTRY_PASSWORD in the
 * environment is echoed in a login line (a careless build script), for testing log masking.
 */
import { createHash } from 'node:crypto';
import type { ContainerLaunch, Program } from './program.ts';

export const digestLinePrefix = 'slipway.image.digest=';

export function isBuilderImage(image: string): boolean {
  const repository = image.split('@')[0]?.replace(/:[^/]*$/, '') ?? '';
  return /kaniko|buildkit/i.test(repository);
}

/** The digest the simulated builder pushes `image` with when built from commit `sha`. */
export function simulatedBuildDigest(image: string, sha: string): string {
  return `sha256:${sha256(`${image}@${sha}`)}`;
}

export function buildProgram(launch: ContainerLaunch, stalls: boolean): Program {
  const { GIT_URL: url, GIT_SHA: sha, IMAGE: image, REGISTRY_PASSWORD: password } = launch.env;
  const output: Program['output'] = [];
  const say = (at: number, ...lines: string[]): void => {
    for (const line of lines) output.push({ at, line });
  };
  if (!url || !sha || !image) {
    say(0, 'error: the builder needs GIT_URL, GIT_SHA and IMAGE in its environment');
    return { output, exit: { at: 0, code: 2 } };
  }
  say(0, `+ git clone --filter=blob:none --no-checkout ${url} /workspace`, "Cloning into '/workspace'...");
  say(1, `+ git -C /workspace checkout --detach ${sha}`);
  if (sha.startsWith('dead')) {
    say(1, `fatal: reference is not a tree: ${sha}`);
    return { output, exit: { at: 1, code: 128 } };
  }
  say(1, `HEAD is now at ${sha.slice(0, 7)}`);
  if (password) {
    const user = launch.env.REGISTRY_USERNAME ?? 'slipway';
    say(
      1,
      `+ crane auth login ${registryOf(image)} -u ${user} -p ${password}`,
      `logged in via /root/.docker/config.json`,
    );
  }
  const digest = simulatedBuildDigest(image, sha);
  const base = 'docker.io/library/node:22-alpine';
  say(
    1.5,
    '#0 building with "default" instance using docker-container driver',
    '',
    '#1 [internal] load build definition from Dockerfile',
    '#1 transferring dockerfile: 612B done',
    '#1 DONE 0.0s',
    '',
    `#2 [internal] load metadata for ${base}`,
  );
  say(
    2,
    '#2 DONE 0.9s',
    '',
    '#3 [internal] load .dockerignore',
    '#3 transferring context: 89B done',
    '#3 DONE 0.0s',
    '',
    `#4 [1/6] FROM ${base}@sha256:${sha256(base)}`,
    `#4 resolve ${base}@sha256:${sha256(base)} done`,
    '#4 DONE 0.0s',
    '',
    '#5 [internal] load build context',
    '#5 transferring context: 1.24MB 0.1s done',
    '#5 DONE 0.1s',
    '',
    '#6 [2/6] WORKDIR /app',
    '#6 CACHED',
    '',
    '#7 [3/6] COPY package.json package-lock.json ./',
    '#7 DONE 0.1s',
    '',
    '#8 [4/6] RUN npm ci',
  );
  if (sha.startsWith('bad')) {
    const failed = 'process "/bin/sh -c npm ci" did not complete successfully: exit code: 1';
    say(
      3,
      '#8 2.514 npm error code ERESOLVE',
      '#8 2.515 npm error ERESOLVE could not resolve',
      `#8 ERROR: ${failed}`,
      '------',
      ' > [4/6] RUN npm ci:',
      '2.514 npm error code ERESOLVE',
      '2.515 npm error ERESOLVE could not resolve',
      '------',
      `ERROR: failed to solve: ${failed}`,
    );
    return { output, exit: { at: 3, code: 1 } };
  }
  say(
    3.5,
    '#8 3.412 added 312 packages, and audited 313 packages in 3s',
    '#8 3.413 found 0 vulnerabilities',
    '#8 DONE 3.6s',
    '',
    '#9 [5/6] COPY . .',
    '#9 DONE 0.2s',
    '',
    '#10 [6/6] RUN npm run build',
    '#10 0.611 > app@1.0.0 build',
  );
  say(
    4.5,
    '#10 DONE 4.1s',
    '',
    '#11 exporting to image',
    '#11 exporting layers 0.7s done',
    `#11 exporting manifest ${digest} done`,
    `#11 exporting config sha256:${sha256(`${digest} config`)} done`,
    `#11 naming to ${image} done`,
    '#11 pushing layers',
  );
  if (stalls) return { output };
  say(5.5, '#11 pushing layers 1.9s done', `#11 pushing manifest for ${image}@${digest} 0.4s done`, '#11 DONE 3.1s');
  say(6, `slipway.image=${image}@${digest}`, `${digestLinePrefix}${digest}`);
  return { output, exit: { at: 6, code: 0, message: JSON.stringify({ digest }) } };
}

/** The registry host of an image reference (Docker Hub when the first part is no host). */
function registryOf(image: string): string {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && /[.:]|^localhost$/.test(first) ? first : 'index.docker.io';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
