import type { Key } from '../store/table.ts';

/**
 * Where a project's chat channels live (design contract of issue 13): a channel under its own id,
 * listed by project on GSI2, so the notifier reads a project's channels with one Query.
 */
export const channelKeys = {
  channel: (id: string): Key => ({ PK: `CHANNEL#${id}`, SK: 'CHANNEL' }),
};

export const channelIndexes = {
  channelsOfProject: (projectId: string) => `PROJECT#${projectId}#channels`,
};
