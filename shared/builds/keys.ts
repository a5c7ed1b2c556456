import type { Key } from '../store/table.ts';

/**
 * Where builds live. A build sits under its own id and is listed by application (GSI2), newest
 * first (ids are ULIDs). Its log is a partition of chunks keyed by the byte offset where each
 * ends, so "the log after position p" is one Query (`SK > C#<p>`), however long the log.
 */
export const buildKeys = {
  build: (id: string): Key => ({ PK: `BUILD#${id}`, SK: 'BUILD' }),
  logChunk: (buildId: string, endOffset: number): Key => ({ PK: logPartition(buildId), SK: chunkSort(endOffset) }),
};

export const logPartition = (buildId: string) => `BUILDLOG#${buildId}`;
/** 15 digits: a log could reach a petabyte before the order broke. */
export const chunkSort = (offset: number) => `C#${String(offset).padStart(15, '0')}`;

export const buildIndexes = {
  /** GSI2: the builds of one application. */
  buildsOfApp: (appId: string) => `APP_BUILDS#${appId}`,
};
