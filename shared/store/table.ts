import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { busy, type DomainError, invalidCursor } from '../errors.ts';
import { documentClient, tableName } from './dynamo.ts';
import { listCursors, MAX_LIMIT, type Page, type PageRequest, type Position } from './paging.ts';
import { type IndexName, tableSchema } from './table-schema.ts';

export type Item = Record<string, NativeAttributeValue>;
export interface Key {
  PK: string;
  SK: string;
}

/**
 * One write in a unit of work, with the problem to raise when its condition fails. `onFail` gets
 * the item as it was (ALL_OLD), so an update can tell "gone" (404) from "changed" (412).
 */
export type Write = (
  | { put: Item; condition?: string }
  | { update: Key; set: string; condition?: string }
  | { delete: Key; condition?: string }
  | { check: Key; condition: string }
) & {
  names?: Record<string, string>;
  values?: Record<string, NativeAttributeValue>;
  onFail: (current: Item | undefined) => DomainError;
};

/**
 * Writes a caller hands a use case to commit in the same transaction as the record it creates,
 * given the record's view (e.g. the idempotency record holding the response to that view).
 */
export type AlsoCommit<T> = (view: T) => Write[];

/** BatchGetItem's own limit of keys per request. */
const BATCH_GET_KEYS = 100;

/**
 * Reads several items by key in one request (BatchGetItem), keeping the order of `keys`; more than
 * 100 distinct keys go as several requests at once.
 */
export async function getMany(keys: readonly Key[]): Promise<(Item | undefined)[]> {
  const unique = [...new Map(keys.map((k) => [`${k.PK}\u0000${k.SK}`, k])).values()];
  const found = new Map<string, Item>();
  const batches: Key[][] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_KEYS) batches.push(unique.slice(i, i + BATCH_GET_KEYS));
  await Promise.all(batches.map((batch) => getBatch(batch, found)));
  return keys.map((k) => found.get(`${k.PK}\u0000${k.SK}`));
}

async function getBatch(keys: Key[], found: Map<string, Item>): Promise<void> {
  let pending: Key[] = keys;
  // BatchGetItem may hand back UnprocessedKeys under load; ask again for just those.
  for (let attempt = 0; pending.length > 0; attempt++) {
    const out = await documentClient.send(
      new BatchGetCommand({ RequestItems: { [tableName()]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of out.Responses?.[tableName()] ?? []) found.set(`${item.PK}\u0000${item.SK}`, item);
    pending = (out.UnprocessedKeys?.[tableName()]?.Keys as Key[] | undefined) ?? [];
    if (pending.length > 0 && attempt >= 5) throw new Error('BatchGetItem kept returning unprocessed keys');
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
  }
}

export interface QuerySpec {
  index?: IndexName;
  partition: string;
  /** Only sort keys starting with this. */
  prefix?: string;
  /** Only sort keys between these two, both included (instead of a prefix). */
  between?: readonly [string, string];
  /** Descending sort key order: newest first for ULID-keyed history. */
  newestFirst?: boolean;
  /** A strongly consistent read (main table only: DynamoDB can't read a GSI consistently). */
  consistent?: boolean;
}

/** Every item of a Query, page after page: for readers that need the whole partition (a chain, every chain head). */
export async function queryAll(spec: QuerySpec, pageSize = 1000): Promise<Item[]> {
  const items: Item[] = [];
  let startAfter: Item | undefined;
  do {
    const page = await query({ ...spec, limit: pageSize, startAfter });
    items.push(...page.items);
    startAfter = page.lastKey;
  } while (startAfter);
  return items;
}

/** One Query request, resuming after a key the server itself read (never one from a client: see queryPage). */
export async function query(
  spec: QuerySpec & { limit: number; startAfter?: Item | undefined },
): Promise<{ items: Item[]; lastKey: Item | undefined }> {
  const { pk, sk } = keyNames(spec.index);
  const out = await documentClient.send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: spec.index,
      ...keyCondition(spec, pk, sk),
      Limit: spec.limit,
      ExclusiveStartKey: spec.startAfter,
      ...(spec.newestFirst ? { ScanIndexForward: false } : {}),
      ...(spec.consistent ? { ConsistentRead: true } : {}),
    }),
  );
  return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey };
}

/**
 * One page of a list for a client: one Query. Its cursor is signed for this list (index, partition
 * and prefix) and holds the last key without the partition, so a cursor of another list, or one
 * altered, is a 400 before anything is read.
 */
export async function queryPage(spec: QuerySpec & { page: PageRequest }): Promise<Page<Item>> {
  const { pk, sk } = keyNames(spec.index);
  // A GSI's LastEvaluatedKey also holds the table's key; the partition is the list's own.
  const fields = spec.index ? [sk, tableSchema.partitionKey, tableSchema.sortKey] : [sk];
  const cursors = listCursors([spec.index ?? 'table', spec.partition, spec.prefix ?? ''], fields);
  const after = cursors.open(spec.page.cursor);
  if (after && spec.prefix && !after[sk]?.startsWith(spec.prefix)) throw invalidCursor();
  const { items, lastKey } = await query({
    ...spec,
    limit: spec.page.limit,
    startAfter: after && { ...after, [pk]: spec.partition },
  });
  const { [pk]: _partition, ...position } = lastKey ?? {};
  return { items, next_cursor: cursors.seal(lastKey && (position as Position)) };
}

/** The partition, and the sort keys wanted: a prefix, a closed range, or all. */
function keyCondition(spec: QuerySpec, pk: string, sk: string) {
  const names = { '#pk': pk, ...(spec.prefix || spec.between ? { '#sk': sk } : {}) };
  if (spec.between) {
    return {
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':pk': spec.partition, ':low': spec.between[0], ':high': spec.between[1] },
    };
  }
  return {
    KeyConditionExpression: spec.prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ':pk': spec.partition, ...(spec.prefix ? { ':prefix': spec.prefix } : {}) },
  };
}

export interface RangesSpec {
  index: IndexName;
  partition: string;
  /** Sort-key prefixes to read ('' is the whole partition); overlapping ones are read once. */
  prefixes: readonly string[];
  /** Names the list for its cursors (with the index and partition), e.g. its filters. */
  list: readonly string[];
  page: PageRequest;
  /** What the list keeps of what it reads (a filter, a permission check). */
  keep: (item: Item) => boolean;
  /** `keep` drops many: read full Query pages instead of just what the page still needs. */
  sparse?: boolean;
}

/**
 * One page of a list made of several sort-key ranges of one index partition (the environments of
 * the projects and apps a caller may read, say), in sort-key order: a Query per range until the
 * page is full. The cursor is signed for the list and holds the last item read, so the next page
 * resumes right after it, whichever ranges the list covers then.
 */
export async function queryRangesPage(spec: RangesSpec): Promise<Page<Item>> {
  const { pk, sk } = keyNames(spec.index);
  const cursors = listCursors(
    [spec.index, spec.partition, ...spec.list],
    [sk, tableSchema.partitionKey, tableSchema.sortKey],
  );
  const after = cursors.open(spec.page.cursor);
  const resumeAt = after?.[sk];
  const ranges = disjointPrefixes(spec.prefixes);
  const items: Item[] = [];
  let last: Item | undefined;
  for (const [index, prefix] of ranges.entries()) {
    // A range wholly before the cursor is done.
    if (resumeAt !== undefined && resumeAt > prefix && !resumeAt.startsWith(prefix)) continue;
    let startAfter: Item | undefined =
      after && resumeAt?.startsWith(prefix) ? { ...after, [pk]: spec.partition } : undefined;
    do {
      const needed = spec.page.limit - items.length;
      const read = await query({ ...spec, prefix, limit: spec.sparse ? MAX_LIMIT : needed, startAfter });
      startAfter = read.lastKey;
      for (const [at, item] of read.items.entries()) {
        last = item;
        if (spec.keep(item)) items.push(item);
        if (items.length < spec.page.limit) continue;
        const more = at < read.items.length - 1 || startAfter !== undefined || index < ranges.length - 1;
        return { items, next_cursor: more ? cursors.seal(positionOf(last, sk)) : null };
      }
    } while (startAfter);
  }
  return { items, next_cursor: null };
}

/** Sorted, without any prefix another one already covers: ranges that never overlap. */
function disjointPrefixes(prefixes: readonly string[]): string[] {
  const kept: string[] = [];
  for (const prefix of [...new Set(prefixes)].sort()) {
    if (!kept.some((k) => prefix.startsWith(k))) kept.push(prefix);
  }
  return kept;
}

const positionOf = (item: Item, sk: string): Position => ({
  [sk]: String(item[sk]),
  [tableSchema.partitionKey]: String(item[tableSchema.partitionKey]),
  [tableSchema.sortKey]: String(item[tableSchema.sortKey]),
});

const keyNames = (index: IndexName | undefined) =>
  index
    ? { pk: `${index}PK`, sk: `${index}SK` }
    : { pk: tableSchema.partitionKey as string, sk: tableSchema.sortKey as string };

/**
 * Commits writes atomically: one write goes as a plain conditional request (half the cost of a
 * transaction), several as one TransactWriteItems. A failed condition raises that write's problem.
 */
export async function commit(writes: readonly Write[]): Promise<void> {
  if (writes.length === 0) return;
  if (writes.length === 1) return commitOne(writes[0] as Write);
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: writes.map(transactItem) }));
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const reasons = error.CancellationReasons ?? [];
    const failedAt = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
    if (failedAt >= 0) {
      const old = reasons[failedAt]?.Item;
      throw (writes[failedAt] as Write).onFail(old ? unmarshall(old) : undefined);
    }
    if (reasons.some((r) => r.Code === 'TransactionConflict')) {
      throw busy('concurrent-modification', 'Another change to the same resources is in progress; retry.');
    }
    throw error;
  }
}

/** What every kind of write sends: the table, its condition, and the old item when the condition fails. */
const conditionOf = (w: Write) => ({
  TableName: tableName(),
  ConditionExpression: w.condition,
  ExpressionAttributeNames: w.names,
  ExpressionAttributeValues: w.values,
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
});

async function commitOne(w: Write): Promise<void> {
  const common = conditionOf(w);
  try {
    if ('put' in w) await documentClient.send(new PutCommand({ ...common, Item: w.put }));
    else if ('update' in w)
      await documentClient.send(new UpdateCommand({ ...common, Key: w.update, UpdateExpression: w.set }));
    else if ('delete' in w) await documentClient.send(new DeleteCommand({ ...common, Key: w.delete }));
    else throw new Error('A condition check only makes sense next to a write in the same commit');
  } catch (error) {
    throw failedCondition(error, w);
  }
}

export type UpdateWrite = Extract<Write, { update: Key }>;

/** One conditional update that answers the attributes it changed (UPDATED_NEW): a counter's new value, say. */
export async function updateOne(w: UpdateWrite): Promise<Item> {
  try {
    const out = await documentClient.send(
      new UpdateCommand({ ...conditionOf(w), Key: w.update, UpdateExpression: w.set, ReturnValues: 'UPDATED_NEW' }),
    );
    return out.Attributes ?? {};
  } catch (error) {
    throw failedCondition(error, w);
  }
}

/** A failed condition becomes the write's own problem (given the item as it was); anything else stays as it is. */
function failedCondition(error: unknown, w: Write): unknown {
  if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') return error;
  const old = (error as { Item?: Record<string, never> }).Item;
  return w.onFail(old ? unmarshall(old) : undefined);
}

function transactItem(w: Write) {
  const common = conditionOf(w);
  if ('put' in w) return { Put: { ...common, Item: w.put } };
  if ('update' in w) return { Update: { ...common, Key: w.update, UpdateExpression: w.set } };
  if ('delete' in w) return { Delete: { ...common, Key: w.delete } };
  return { ConditionCheck: { ...common, Key: w.check } };
}
