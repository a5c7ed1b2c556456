import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../../infra/local/cloud.ts';
import { freePort } from '../../infra/local/ports.ts';

/**
 * A local cloud that stops and starts again on one data folder, as `npm start` does. Its ports are
 * fixed, so clients, and the SDK clients the functions created at import (this process imported
 * them once), keep talking to the same addresses; so is the simulated cluster's, which keeps its
 * address, CA and token across the restart.
 */
export interface RestartableCloud {
  options: LocalCloudOptions;
  /** Starts it (again), with `extra` options for this start only (a Scheduler clock, say). */
  start(extra?: Partial<LocalCloudOptions>): Promise<LocalCloud>;
  /** Stops the running one and deletes its data folder. */
  dispose(): Promise<void>;
}

export async function restartableCloud(name: string, extra: LocalCloudOptions = {}): Promise<RestartableCloud> {
  const dataDir = await mkdtemp(join(tmpdir(), `slipway-${name}-`));
  const options: LocalCloudOptions = {
    port: await freePort(),
    awsPort: await freePort(),
    dataDir,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `slipway-test-${randomUUID().slice(0, 8)}`,
    quiet: true,
    ...extra,
    kubernetes: { ...extra.kubernetes, port: await freePort() },
  };
  let running: LocalCloud | undefined;
  return {
    options,
    async start(more = {}) {
      running = await startLocalCloud({ ...options, ...more });
      return running;
    },
    async dispose() {
      await running?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
