import { busy, Conflict, conflict, isError } from '../errors.ts';
import { ID_PATTERN } from '../store/ids.ts';
import { commit, type Item, type Key, query, type Write } from '../store/table.ts';

/**
 * The per-environment deployment lock: one deployment runs per environment at a time, the others
 * wait in a first-in-first-out queue, and a holder that stops renewing loses the lock when its
 * lease runs out. Different environments use different partitions, so they never wait on each other.
 *
 * One partition per environment, `LOCK#<appId>#<env>`:
 *   SK = HOLDER                   who runs now, until when (absent: nobody)
 *   SK = QUEUE#<deploymentId>     one per waiting deployment; the deployment id is a ULID, so the
 *                                 sort key orders the queue by creation time, and two deployments
 *                                 of the same millisecond still have a total order (their random part).
 *                                 `alive_until`: each poll of its waiter moves it a lease ahead.
 * Keying the entry by the deployment id alone (not queued_at + id) lets renew/release/tryAcquire
 * address it without a read. A deployment leaves the queue when it takes the lock (so a holder that
 * crashes leaves nothing behind to block the queue), when it is released, or when it is abandoned:
 * its waiter stopped polling (execution stopped, timed out, crashed) and its `alive_until` passed.
 * Waiters behind an abandoned entry delete it, on the condition that it is still abandoned, so a
 * waiter that is slow but alive polls again in time and stays; one deleted gets NotQueued on its next poll.
 *
 * Why two deployments can never both hold it: acquiring is ONE transaction whose put of HOLDER is
 * conditioned on "no holder, or the holder's lease has expired", evaluated by DynamoDB at commit;
 * concurrent acquirers serialize on that one item and all but one fail.
 *
 * Why only the head of the queue acquires: the head is found by a read, then the transaction
 * (a) deletes the acquirer's own entry on condition it still exists (a released deployment can't
 * take the lock) and (b) puts HOLDER on the condition above. An entry ahead of the acquirer can't
 * vanish unseen: entries leave only by taking the lock (then HOLDER's condition fails), by
 * release, or as abandoned (deleted before the acquire, and only while still abandoned).
 * DynamoDB can't condition on "no smaller key exists", so an entry with a smaller key that
 * commits after the head read (a strongly consistent query) can lose its turn; that needs two
 * creates for the same environment within the same moment (a ULID is minted just before the
 * create's commit), which have no order a user could tell anyway. Mutual exclusion never depends
 * on the queue, nor on anyone's liveness: only on HOLDER's condition.
 */

/** An environment: an application's env by name. */
export interface EnvRef {
  appId: string;
  env: string;
}

export type AcquireResult =
  | { acquired: true; lease_expires_at: string }
  /** `position` 1 = next in line; `holder` = the deployment holding the lock now, if any. */
  | { acquired: false; position: number; holder?: string };

export interface EnvQueue {
  holder?: { deployment_id: string; lease_expires_at: string };
  waiting: { deployment_id: string; queued_at: string; position: number }[];
}

/** Raised by `renew` (and `tryAcquire` of a holder) when another deployment holds the lock now. */
export class LockLost extends Conflict {
  override name = 'LockLost';
  constructor(deploymentId: string, holder: unknown) {
    super('lock-lost', `${deploymentId} no longer holds the lock (holder: ${holder ?? 'none'}).`);
  }
}

/** Raised by `tryAcquire` for a deployment that is neither holding nor waiting (never queued, or released). */
export class NotQueued extends Conflict {
  override name = 'NotQueued';
  constructor(deploymentId: string) {
    super('not-queued', `${deploymentId} is not in the queue.`);
  }
}

/** An abandoned HOLDER or queue entry is removed by TTL a day after its time ran out; expiry is checked by time. */
const CLEANUP_AFTER_SECONDS = 24 * 60 * 60;

const partition = (env: EnvRef): string => `LOCK#${env.appId}#${env.env}`;
const holderKey = (env: EnvRef): Key => ({ PK: partition(env), SK: 'HOLDER' });
const QUEUE_PREFIX = 'QUEUE#';
const entryKey = (env: EnvRef, deploymentId: string): Key => ({ PK: partition(env), SK: QUEUE_PREFIX + deploymentId });

/** How long a new entry counts as alive before its first poll: its workflow may take a while to start. */
const FIRST_POLL_WITHIN_SECONDS = 900;

/**
 * The write that puts a deployment at the back of the env's queue; commit it in the deployment's
 * create. The entry counts as abandoned if its first poll (tryAcquire) is not within `aliveSeconds`.
 */
export function enqueue(
  env: EnvRef,
  deploymentId: string,
  queuedAt: string,
  aliveSeconds = FIRST_POLL_WITHIN_SECONDS,
): Write {
  // The queue order is the id's order: anything but a prefixed ULID would sort at random.
  if (!ID_PATTERN.test(deploymentId)) throw new Error(`Not a deployment id: ${deploymentId}`);
  return {
    put: {
      ...entryKey(env, deploymentId),
      deployment_id: deploymentId,
      queued_at: queuedAt,
      ...aliveFor(aliveSeconds),
    },
    condition: 'attribute_not_exists(PK)',
    onFail: () => conflict('already-queued', `${deploymentId} is already queued.`),
  };
}

/**
 * Takes the lock if this deployment is first in the queue and the lock is free, expired, or
 * already its own (then the lease is extended). Called in a poll loop until it returns acquired;
 * a poll that does not acquire keeps the entry alive for `leaseSeconds`, so poll more often than that.
 */
export async function tryAcquire(env: EnvRef, deploymentId: string, leaseSeconds: number): Promise<AcquireResult> {
  for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
    try {
      return await acquireOnce(env, deploymentId, leaseSeconds);
    } catch (error) {
      if (!lostRace(error)) throw error;
    }
  }
  // It was first in line every time but others kept changing the lock: the next poll will tell.
  return { acquired: false, position: 1 };
}

/** Acquiring again after losing a race to a concurrent write costs a read; give up after a few. */
const ACQUIRE_ATTEMPTS = 3;

async function acquireOnce(env: EnvRef, deploymentId: string, leaseSeconds: number): Promise<AcquireResult> {
  // One strongly consistent read of the partition: the holder (SK HOLDER sorts first), then the queue in order.
  const items = await allItems(partition(env));
  const holder = items.find((i) => i.SK === 'HOLDER');
  if (holder?.deployment_id === deploymentId) return extendLease(env, deploymentId, leaseSeconds);
  const queue = items.filter((i) => (i.SK as string).startsWith(QUEUE_PREFIX));
  const mine = queue.findIndex((i) => i.SK === entryKey(env, deploymentId).SK);
  if (mine < 0) throw new NotQueued(deploymentId);

  const ahead = await stillWaiting(env, queue.slice(0, mine));
  if (ahead.length > 0 || (holder && !hasExpired(holder))) {
    await commit([keepAlive(env, deploymentId, leaseSeconds)]);
    const position = ahead.length + 1;
    return { acquired: false, position, ...(holder ? { holder: holder.deployment_id as string } : {}) };
  }
  const lease = leaseFrom(leaseSeconds);
  await commit(acquireWrites(env, deploymentId, lease));
  return { acquired: true, lease_expires_at: lease.lease_expires_at };
}

/** Extends the lease of the holder; throws LockLost if another deployment holds the lock now. */
export async function renew(env: EnvRef, deploymentId: string, leaseSeconds: number): Promise<void> {
  await extendLease(env, deploymentId, leaseSeconds);
}

/**
 * Lets go of the lock if this deployment holds it and leaves the queue either way. Idempotent, and
 * harmless for a deployment that holds nothing: another holder is never removed.
 */
export async function release(env: EnvRef, deploymentId: string): Promise<void> {
  // The entry goes first, so a tryAcquire of ours still in flight can't take the lock back after.
  await commit([{ delete: entryKey(env, deploymentId), onFail: () => new NotQueued(deploymentId) }]); // unconditional
  try {
    await commit([
      {
        delete: holderKey(env),
        condition: '#deployment = :me',
        names: { '#deployment': 'deployment_id' },
        values: { ':me': deploymentId },
        onFail: (current) => new LockLost(deploymentId, current?.deployment_id),
      },
    ]);
  } catch (error) {
    if (!(error instanceof LockLost)) throw error;
  }
}

/** Who holds the lock and who waits, in order (what a deployment's status shows; abandoned entries until removed). */
export async function queueOf(env: EnvRef): Promise<EnvQueue> {
  const items = await allItems(partition(env));
  const holder = items.find((i) => i.SK === 'HOLDER');
  const waiting = items
    .filter((i) => (i.SK as string).startsWith(QUEUE_PREFIX))
    .map((i, index) => ({
      deployment_id: i.deployment_id as string,
      queued_at: i.queued_at as string,
      position: index + 1,
    }));
  return {
    ...(holder
      ? {
          holder: {
            deployment_id: holder.deployment_id as string,
            lease_expires_at: holder.lease_expires_at as string,
          },
        }
      : {}),
    waiting,
  };
}

interface Lease {
  lease_expires_at: string;
  /** Whole epoch seconds, rounded up: the lease lasts at least what was asked. */
  lease_expires_epoch: number;
}

/** Lease time comes from this server's clock, never the caller's. */
function leaseFrom(leaseSeconds: number): Lease {
  if (!(leaseSeconds > 0)) throw new RangeError(`A lease must last a positive number of seconds, not ${leaseSeconds}`);
  const epoch = Math.ceil((Date.now() + leaseSeconds * 1000) / 1000);
  return { lease_expires_at: new Date(epoch * 1000).toISOString(), lease_expires_epoch: epoch };
}

const nowEpoch = (): number => Math.floor(Date.now() / 1000);
const hasExpired = (holder: Item): boolean => (holder.lease_expires_epoch as number) <= nowEpoch();

/** A queue entry's liveness: until when its waiter counts as alive (the same clock and rounding as a lease). */
function aliveFor(seconds: number) {
  const until = leaseFrom(seconds);
  return {
    alive_until: until.lease_expires_at,
    alive_until_epoch: until.lease_expires_epoch,
    expiresAt: until.lease_expires_epoch + CLEANUP_AFTER_SECONDS,
  };
}

/** A poll that did not acquire: the waiter is alive; the entry must still exist (an update would recreate it). */
function keepAlive(env: EnvRef, deploymentId: string, seconds: number): Write {
  const alive = aliveFor(seconds);
  return {
    update: entryKey(env, deploymentId),
    set: 'SET alive_until = :at, alive_until_epoch = :epoch, expiresAt = :cleanup',
    condition: 'attribute_exists(PK)',
    values: { ':at': alive.alive_until, ':epoch': alive.alive_until_epoch, ':cleanup': alive.expiresAt },
    // Gone since the read: released, removed as abandoned, or taken the lock by a concurrent poll of ours.
    onFail: raceLost,
  };
}

/** The entries that are still waiting; the abandoned ones among them are removed on the way. */
async function stillWaiting(env: EnvRef, entries: readonly Item[]): Promise<Item[]> {
  const now = nowEpoch();
  const waiting = await Promise.all(
    entries.map((e) => ((e.alive_until_epoch as number) <= now ? removeIfAbandoned(env, e, now) : true)),
  );
  return entries.filter((_, i) => waiting[i]);
}

/** Deletes an abandoned entry unless its waiter polled again meanwhile; returns whether it is still waiting. */
async function removeIfAbandoned(env: EnvRef, entry: Item, now: number): Promise<boolean> {
  try {
    await commit([
      {
        delete: entryKey(env, entry.deployment_id as string),
        condition: 'attribute_not_exists(PK) OR #alive <= :now',
        names: { '#alive': 'alive_until_epoch' },
        values: { ':now': now },
        onFail: () => conflict('waiter-alive', `${entry.deployment_id} polled again: it is still waiting.`),
      },
    ]);
    return false;
  } catch (error) {
    if (isError(error, 'waiter-alive')) return true;
    throw error;
  }
}

/** Leaves the queue and becomes the holder, in one transaction (see the reasoning at the top). */
function acquireWrites(env: EnvRef, deploymentId: string, lease: Lease): Write[] {
  return [
    {
      delete: entryKey(env, deploymentId),
      condition: 'attribute_exists(PK)',
      onFail: raceLost,
    },
    {
      put: {
        ...holderKey(env),
        deployment_id: deploymentId,
        acquired_at: new Date().toISOString(),
        ...lease,
        expiresAt: lease.lease_expires_epoch + CLEANUP_AFTER_SECONDS,
      },
      condition: 'attribute_not_exists(PK) OR #epoch <= :now OR #deployment = :me',
      names: { '#epoch': 'lease_expires_epoch', '#deployment': 'deployment_id' },
      values: { ':now': nowEpoch(), ':me': deploymentId },
      onFail: raceLost,
    },
  ];
}

/** A holder may renew even after its lease ran out, as long as nobody took over. */
async function extendLease(env: EnvRef, deploymentId: string, leaseSeconds: number): Promise<AcquireResult> {
  const lease = leaseFrom(leaseSeconds);
  await commit([
    {
      update: holderKey(env),
      set: 'SET lease_expires_at = :at, lease_expires_epoch = :epoch, expiresAt = :cleanup',
      condition: '#deployment = :me',
      names: { '#deployment': 'deployment_id' },
      values: {
        ':at': lease.lease_expires_at,
        ':epoch': lease.lease_expires_epoch,
        ':cleanup': lease.lease_expires_epoch + CLEANUP_AFTER_SECONDS,
        ':me': deploymentId,
      },
      onFail: (current) => new LockLost(deploymentId, current?.deployment_id),
    },
  ]);
  return { acquired: true, lease_expires_at: lease.lease_expires_at };
}

/** An acquire whose conditions failed at commit: the lock or the queue changed since the read. */
const raceLost = () => busy('lock-race-lost', 'The lock or its queue changed while acquiring.');

/** A failed acquire worth a second look: its conditions, or a concurrent transaction on the same items. */
function lostRace(error: unknown): boolean {
  if (isError(error, 'lock-race-lost') || isError(error, 'concurrent-modification')) return true;
  return (error as { name?: string }).name === 'TransactionConflictException';
}

/** Every item of a partition, read strongly consistent (a lock partition is small: usually one page). */
async function allItems(partitionKey: string): Promise<Item[]> {
  const items: Item[] = [];
  let after: Item | undefined;
  do {
    const page = await query({ partition: partitionKey, consistent: true, limit: 100, startAfter: after });
    items.push(...page.items);
    after = page.lastKey;
  } while (after);
  return items;
}
