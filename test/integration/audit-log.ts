/**
 * The audit log as its tests drive it: the auditor invoked with bus events the way the audit rule
 * delivers them (retrying a failed delivery, as the bus does), chains of changes for a fresh
 * subject, and a DynamoDB client of the test's own for the "database writer" who tampers.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { auditKeys } from '../../shared/audit/keys.ts';
import type { BusEvent, ReceivedChangeEvent } from '../../shared/events/envelope.ts';

export const raw = DynamoDBDocumentClient.from(new DynamoDBClient({}));

type Auditor = (event: BusEvent) => Promise<{ outcome: 'appended'; seq: number } | { outcome: 'duplicate' }>;

/** The auditor handler, imported after the cloud has set TABLE_NAME and the endpoints, as the local runtime would. */
export const auditor = async (): Promise<Auditor> =>
  ((await import('../../functions/auditor/handler.ts')) as { handler: Auditor }).handler;

/** What the event publisher puts on the bus for a change event. */
export function busEvent(change: ReceivedChangeEvent): BusEvent {
  const { source, type, ...detail } = change;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': type,
    source,
    account: '000000000000',
    time: change.time,
    region: 'eu-west-1',
    resources: [],
    detail,
  };
}

/** Delivers like an EventBridge rule: a target that throws gets the event again (a fresh envelope, the same change). */
export async function deliver(change: ReceivedChangeEvent, attempts = 10) {
  const audit = await auditor();
  for (let attempt = 1; ; attempt++) {
    try {
      return await audit(busEvent(change));
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}

/** The n-th change of an application subject of the project. */
export const change = (
  projectId: string,
  subject: string,
  n: number,
  extra: Partial<ReceivedChangeEvent> = {},
): ReceivedChangeEvent => ({
  id: ulid(),
  source: 'slipway.catalog',
  type: n === 1 ? 'Application Created' : 'Application Updated',
  time: new Date().toISOString(),
  actor: 'root',
  subject,
  request_id: `req-${n}`,
  project_id: projectId,
  data: { id: subject.split('/')[1], n },
  ...extra,
});

export const appSubject = () => `app/app_${ulid().toLowerCase()}`;

/** Appends `n` changes to a fresh subject of the project, one after another. */
export async function chainOf(projectId: string, n: number): Promise<string> {
  const subject = appSubject();
  for (let i = 1; i <= n; i++) await deliver(change(projectId, subject, i));
  return subject;
}

export const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** The database writer changes one entry's data in place (its hash left as it was). */
export const alterEntry = (subject: string, seq: number) =>
  raw.send(
    new UpdateCommand({
      TableName: process.env.TABLE_NAME,
      Key: auditKeys.entry(subject, seq),
      UpdateExpression: 'SET #data.#n = :forged',
      ExpressionAttributeNames: { '#data': 'data', '#n': 'n' },
      ExpressionAttributeValues: { ':forged': 42 },
    }),
  );
