import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { monotonicFactory } from 'ulid';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureTable, localDynamoClient } from '../../../infra/local/dynamodb.ts';

type Lock = typeof import('../../../shared/delivery/environment-lock.ts');
type EnvRef = import('../../../shared/delivery/environment-lock.ts').EnvRef;

/**
 * The per-environment deployment lock against DynamoDB Local, in a table of this file's own.
 * Leases expire for real (a 1 s lease, polled with a deadline): no clock is mocked.
 */
let lock: Lock;
let commit: typeof import('../../../shared/store/table.ts').commit;

beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  const tableName = `slipway-lock-${randomUUID().slice(0, 8)}`;
  await ensureTable(localDynamoClient(endpoint), tableName);
  // The store modules create their client at import, from the environment a function would have.
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  lock = await import('../../../shared/delivery/environment-lock.ts');
  ({ commit } = await import('../../../shared/store/table.ts'));
});

const LEASE = 60;
const mintUlid = monotonicFactory();
/** Deployment ids minted one after another, as deployments created in turn get them. */
const newDeploymentId = () => `dep_${mintUlid().toLowerCase()}`;
const newEnv = (env = 'prod'): EnvRef => ({ appId: `app_${mintUlid().toLowerCase()}`, env });

/** Creates deployments in turn, each enqueued by its own create (counted alive for `aliveSeconds` until it polls). */
async function queued(env: EnvRef, count: number, aliveSeconds?: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = newDeploymentId();
    await commit([lock.enqueue(env, id, new Date().toISOString(), aliveSeconds)]);
    ids.push(id);
  }
  return ids;
}

/** Every deployment polls once, at the same time; returns the ones that got the lock. */
async function pollAll(env: EnvRef, ids: readonly string[], lease = LEASE): Promise<string[]> {
  const results = await Promise.all(ids.map((id) => lock.tryAcquire(env, id, lease)));
  return ids.filter((_, i) => results[i]?.acquired);
}

async function pollUntilAcquired(env: EnvRef, id: string, timeoutMs: number, lease = LEASE): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await lock.tryAcquire(env, id, lease)).acquired) {
    if (Date.now() > deadline) throw new Error(`${id} did not acquire within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe('one deployment at a time per environment', () => {
  it('the first enqueued acquires; the second waits as next in line until the first releases', async () => {
    const env = newEnv();
    const [first, second] = (await queued(env, 2)) as [string, string];

    const taken = await lock.tryAcquire(env, first, LEASE);
    expect(taken.acquired).toBe(true);
    expect(await lock.tryAcquire(env, second, LEASE)).toEqual({ acquired: false, position: 1, holder: first });

    await lock.release(env, first);
    expect((await lock.tryAcquire(env, second, LEASE)).acquired).toBe(true);
    expect((await lock.queueOf(env)).holder?.deployment_id).toBe(second);
  });

  it('five queued deployments run in the order they were enqueued', async () => {
    const env = newEnv();
    const ids = await queued(env, 5);
    const ran: string[] = [];
    for (let turn = 0; turn < ids.length; turn++) {
      // All still waiting poll at once (in reverse, so the call order can't be what decides).
      const winners = await pollAll(env, ids.slice(turn).reverse());
      expect(winners).toHaveLength(1);
      ran.push(winners[0] as string);
      await lock.release(env, winners[0] as string);
    }
    expect(ran).toEqual(ids);
  });

  it('ten deployments created and polling at the same moment: exactly one holds the lock', async () => {
    // Creates racing the polls is when two deployments can each see themselves first in line.
    for (let round = 0; round < 3; round++) {
      const env = newEnv();
      const ids = Array.from({ length: 10 }, newDeploymentId);
      const results = await Promise.all(
        ids.map(async (id) => {
          await commit([lock.enqueue(env, id, new Date().toISOString())]);
          return lock.tryAcquire(env, id, LEASE);
        }),
      );
      const winners = ids.filter((_, i) => results[i]?.acquired);
      expect(winners).toHaveLength(1);
      const queue = await lock.queueOf(env);
      expect(queue.holder?.deployment_id).toBe(winners[0]);
      expect(queue.waiting.map((w) => w.deployment_id).sort()).toEqual(ids.filter((id) => id !== winners[0]).sort());
      // Everyone polls again at once: still the same single holder.
      expect(await pollAll(env, ids)).toEqual(winners);
    }
  });

  it('the same deployment polling ten times at once holds the lock once', async () => {
    const env = newEnv();
    const [id, next] = (await queued(env, 2)) as [string, string];
    const results = await Promise.all(Array.from({ length: 10 }, () => lock.tryAcquire(env, id, LEASE)));
    expect(results.every((r) => r.acquired)).toBe(true);
    expect(await lock.queueOf(env)).toMatchObject({
      holder: { deployment_id: id },
      waiting: [{ deployment_id: next }],
    });
  });

  it('different environments do not wait on each other', async () => {
    const app = newEnv('staging');
    const envs = [app, { ...app, env: 'prod' }, { ...newEnv(), env: 'staging' }];
    const ids = await Promise.all(envs.map(async (env) => (await queued(env, 1))[0] as string));
    const results = await Promise.all(envs.map((env, i) => lock.tryAcquire(env, ids[i] as string, LEASE)));
    expect(results.map((r) => r.acquired)).toEqual([true, true, true]);
  });
});

describe('leases', () => {
  it('a holder that stops renewing is replaced once its lease runs out, and leaves no queue entry', async () => {
    const env = newEnv();
    const [crashed, next] = (await queued(env, 2)) as [string, string];
    const taken = await lock.tryAcquire(env, crashed, 1);
    expect(taken.acquired).toBe(true);
    expect(await lock.tryAcquire(env, next, LEASE)).toEqual({ acquired: false, position: 1, holder: crashed });

    await pollUntilAcquired(env, next, 5_000);
    // Not before the lease it was given had run out (server clock, whole seconds rounded up).
    if (taken.acquired) expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(taken.lease_expires_at));
    const queue = await lock.queueOf(env);
    expect(queue.holder?.deployment_id).toBe(next);
    expect(queue.waiting).toEqual([]);
    await expect(lock.renew(env, crashed, LEASE)).rejects.toMatchObject({ name: 'LockLost' });
  });

  it('renew by the holder extends its lease; by anyone else throws LockLost', async () => {
    const env = newEnv();
    const [holder, waiting] = (await queued(env, 2)) as [string, string];
    await lock.tryAcquire(env, holder, 10);
    const before = (await lock.queueOf(env)).holder?.lease_expires_at as string;
    await lock.renew(env, holder, 600);
    const after = (await lock.queueOf(env)).holder?.lease_expires_at as string;
    expect(Date.parse(after) - Date.parse(before)).toBeGreaterThanOrEqual(589_000);

    for (const stranger of [waiting, newDeploymentId()]) {
      const error = await lock.renew(env, stranger, LEASE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(lock.LockLost);
      expect(error).toMatchObject({ name: 'LockLost' });
    }
    expect((await lock.queueOf(env)).holder).toEqual({ deployment_id: holder, lease_expires_at: after });
  });
});

/** Everyone polls together, round after round, until one acquires; returns it (never two in a round). */
async function pollRoundsUntilOneAcquires(env: EnvRef, ids: readonly string[], lease: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const winners = await pollAll(env, ids, lease);
    expect(winners.length).toBeLessThanOrEqual(1);
    if (winners[0]) return winners[0];
    if (Date.now() > deadline) throw new Error(`none of ${ids.join(', ')} acquired within 10 s`);
    await sleep(100);
  }
}

describe('waiters that stop polling', () => {
  // Short alive windows (1 s from enqueue, and from each poll with a 1 s lease) that pass for real.
  it('a waiter at the head that stops polling is passed over once its alive window has passed', async () => {
    const env = newEnv();
    const [holder, stopped, next] = (await queued(env, 3, 1)) as [string, string, string];
    await lock.tryAcquire(env, holder, LEASE);
    const lastPoll = Date.now();
    expect(await lock.tryAcquire(env, stopped, 1)).toEqual({ acquired: false, position: 1, holder });
    await lock.release(env, holder);

    await pollUntilAcquired(env, next, 5_000, 1);
    // Not before the window its last poll opened had passed (server clock, whole seconds rounded up).
    expect(Date.now()).toBeGreaterThanOrEqual(lastPoll + 1_000);
    expect(await lock.queueOf(env)).toMatchObject({ holder: { deployment_id: next }, waiting: [] });
    // Its execution, were it to come back, learns it left the queue instead of taking the lock.
    await expect(lock.tryAcquire(env, stopped, 1)).rejects.toMatchObject({ name: 'NotQueued' });
  });

  it('a waiter that keeps polling, however slowly within its window, is never removed by those behind it', async () => {
    const env = newEnv();
    const [holder, slow, eager] = (await queued(env, 3, 1)) as [string, string, string];
    await lock.tryAcquire(env, holder, LEASE);
    const until = Date.now() + 2_500; // past the 1 s window (rounded up) their enqueue gave them
    const keepPolling = async (id: string, everyMs: number) => {
      const positions: number[] = [];
      while (Date.now() < until) {
        const result = await lock.tryAcquire(env, id, 1);
        positions.push(result.acquired ? 0 : result.position);
        await sleep(everyMs);
      }
      return positions;
    };
    const [slowSaw, eagerSaw] = await Promise.all([keepPolling(slow, 300), keepPolling(eager, 50)]);
    expect(new Set(slowSaw)).toEqual(new Set([1]));
    expect(new Set(eagerSaw)).toEqual(new Set([2]));

    await lock.release(env, holder);
    expect(await pollAll(env, [eager, slow], 1)).toEqual([slow]);
  });

  it('live waiters take the lock in queue order, passing over the abandoned ones between them', async () => {
    const env = newEnv();
    // 3 s windows: a round of polls on a loaded machine must not outlast a live waiter's window.
    const [first, never1, second, never2, third] = (await queued(env, 5, 3)) as string[];
    const live = [first, second, third] as string[];
    const ran: string[] = [];
    for (let turn = 0; turn < live.length; turn++) {
      // In reverse, so the call order can't be what decides; the waiting ones stay alive by polling.
      const winner = await pollRoundsUntilOneAcquires(env, live.slice(turn).reverse(), 3);
      ran.push(winner);
      await lock.release(env, winner);
    }
    expect(ran).toEqual(live);
    expect(await lock.queueOf(env)).toEqual({ waiting: [] });
    for (const abandoned of [never1, never2] as string[]) {
      await expect(lock.tryAcquire(env, abandoned, 1)).rejects.toMatchObject({ name: 'NotQueued' });
    }
  });
});

describe('release', () => {
  it('is idempotent, and releasing a lock you do not hold leaves the holder alone', async () => {
    const env = newEnv();
    const [holder, waiting, last] = (await queued(env, 3)) as [string, string, string];
    await lock.tryAcquire(env, holder, LEASE);

    // A waiting deployment (cancelled, say) and one never queued here: the holder stays.
    await lock.release(env, waiting);
    await lock.release(env, waiting);
    await lock.release(env, newDeploymentId());
    expect(await lock.queueOf(env)).toMatchObject({
      holder: { deployment_id: holder },
      waiting: [{ deployment_id: last, position: 1 }],
    });
    await expect(lock.tryAcquire(env, waiting, LEASE)).rejects.toMatchObject({ name: 'NotQueued' });

    await lock.release(env, holder);
    await lock.release(env, holder);
    expect((await lock.tryAcquire(env, last, LEASE)).acquired).toBe(true);
  });
});

describe('queueOf', () => {
  it('shows the holder and the waiting deployments with their positions', async () => {
    const env = newEnv();
    expect(await lock.queueOf(env)).toEqual({ waiting: [] });
    const queuedAt = ['2026-11-02T10:00:00.000Z', '2026-11-02T10:00:01.000Z', '2026-11-02T10:00:02.000Z'];
    const ids: string[] = [];
    for (const at of queuedAt) {
      const id = newDeploymentId();
      await commit([lock.enqueue(env, id, at)]);
      ids.push(id);
    }
    const taken = await lock.tryAcquire(env, ids[0] as string, LEASE);
    expect(await lock.queueOf(env)).toEqual({
      holder: { deployment_id: ids[0], lease_expires_at: taken.acquired ? taken.lease_expires_at : 'not acquired' },
      waiting: [
        { deployment_id: ids[1], queued_at: queuedAt[1], position: 1 },
        { deployment_id: ids[2], queued_at: queuedAt[2], position: 2 },
      ],
    });
    expect(await lock.tryAcquire(env, ids[2] as string, LEASE)).toEqual({
      acquired: false,
      position: 2,
      holder: ids[0],
    });
  });

  it('a deployment enqueued twice is refused', async () => {
    const env = newEnv();
    const [id] = (await queued(env, 1)) as [string];
    await expect(commit([lock.enqueue(env, id, new Date().toISOString())])).rejects.toMatchObject({
      name: 'Conflict',
      code: 'already-queued',
    });
  });
});

describe('random interleavings', () => {
  type Step = { op: 'poll' | 'release'; who: number };
  const step = fc.record({ op: fc.constantFrom<Step['op']>('poll', 'poll', 'release'), who: fc.nat(3) });
  /** Steps that run at the same time, at most one per deployment (a deployment's own calls are sequential). */
  const batch = fc.uniqueArray(step, { minLength: 1, maxLength: 4, selector: (s) => s.who });

  it('never two holders, and the lock passes in queue order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { maxLength: 8 }), async (batches) => {
        const env = newEnv();
        const ids = await queued(env, 4);
        let holder: number | undefined; // the one last told "acquired" that has not released since
        const released = new Set<number>();
        const acquisitions: number[] = [];
        for (const steps of batches) {
          const outcomes = await Promise.all(steps.map((s) => run(env, ids[s.who] as string, s)));
          // A release in the same batch may have freed the lock for a poll in it: count releases first.
          for (const { who } of steps.filter((s) => s.op === 'release')) {
            released.add(who);
            if (holder === who) holder = undefined;
          }
          steps.forEach(({ op, who }, i) => {
            if (op !== 'poll' || !outcomes[i]) return;
            expect(released.has(who) || holder === undefined || holder === who).toBe(true);
            if (holder !== who) acquisitions.push(who);
            holder = who;
          });
          const stored = (await lock.queueOf(env)).holder?.deployment_id;
          expect(stored === undefined ? undefined : ids.indexOf(stored)).toBe(holder);
        }
        // FIFO: each acquisition was by a deployment enqueued after the one before it.
        expect(acquisitions).toEqual([...acquisitions].sort());
      }),
      { numRuns: 25 },
    );
    // 25 interleavings: alone ~1 s, but the whole suite shares 2 cores with it.
  }, 120_000);

  /** Whether the step left this deployment holding the lock; a released one is no longer queued. */
  async function run(env: EnvRef, id: string, { op }: Step): Promise<boolean> {
    if (op === 'release') return lock.release(env, id).then(() => false);
    try {
      return (await lock.tryAcquire(env, id, LEASE)).acquired;
    } catch (error) {
      if ((error as Error).name === 'NotQueued') return false;
      throw error;
    }
  }
});
