/**
 * A delivery scene for a test file: a local cloud with quick workflow waits, and the delivery
 * world of world.ts on it.
 */
import { expect } from 'vitest';
import { FINAL_STATES } from '../../../shared/delivery/model.ts';
import { type Client, eventually, type Reply } from '../client.ts';
import { startTestCloud, type TestCloud, type TestCloudOptions } from '../harness.ts';
import { type DeliveryWorld, deliveryWorld, IMAGE_REPOSITORY } from './world.ts';

export { IMAGE_REPOSITORY };

/** Waits of the deploy and rollback workflows shortened by the interpreter's overrides (the ASL is unchanged). */
const quick = {
  waitTimeOverrides: { WaitForLock: 100, WaitForRollout: 50, WaitForRestore: 50 },
  retryIntervalOverrides: { Apply: 20, CheckRollout: 20, RestorePrevious: 20, CheckRestore: 20 },
};

/** The build machine's poll, and its retries, as quick. */
const quickBuild = {
  waitTimeOverrides: { WaitForBuild: 50 },
  retryIntervalOverrides: { StartJob: 20, CollectLog: 20, RecordSuccess: 20, RecordFailure: 20 },
};

export const quickDelivery: NonNullable<TestCloudOptions['delivery']> = {
  workflowOverrides: { deploy: quick, rollback: quick, build: quickBuild },
  busBackoff: { initialMs: 20, maxMs: 100 },
  kubernetes: { podStartMs: 30, badImageFailAfterMs: 300 },
};

export interface Scene extends DeliveryWorld {
  cloud: TestCloud;
}

/** The notifier's configuration for one Slack-style channel on a local receiver at `baseUrl` (`http://127.0.0.1:<port>`). */
export const slackChannelAt = (baseUrl: string) => ({
  channels: [{ kind: 'slack', url: `${baseUrl}/services/T000/B000/XXXX` }],
  allowed_hosts: ['127.0.0.1'],
  allow_private: ['127.0.0.1'],
});

export async function startScene(delivery: TestCloudOptions['delivery'] = {}): Promise<Scene> {
  const cloud = await startTestCloud({ delivery: { ...quickDelivery, ...delivery } });
  return { cloud, ...(await deliveryWorld(cloud)) };
}

export async function deploy(api: Client, appId: string, body: Record<string, unknown>): Promise<Reply> {
  return api.post(`/api/v1/apps/${appId}/deploy`, body);
}

/** Polls a deployment's status until `done` holds (default: a final state). */
export async function statusWhen(
  api: Client,
  id: string,
  done: (status: { state: string } & Record<string, unknown>) => boolean = (s) => FINAL_STATES.has(s.state as never),
  deadlineMs = 20_000,
) {
  return eventually(async () => {
    const reply = await api.get(`/api/v1/deployments/${id}/status`);
    expect(reply.status).toBe(200);
    if (!done(reply.body)) throw new Error(`deployment ${id} is ${reply.body.state}`);
    return reply.body;
  }, deadlineMs);
}

export const stepNames = (status: { steps: { state: string }[] }) => status.steps.map((s) => s.state);
