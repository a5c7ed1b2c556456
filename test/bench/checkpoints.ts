/**
 * Section 5: what an audit checkpoint costs. Seeds chain heads (and each chain's entry) straight
 * into the table, then runs the checkpointer's own use case in this process against the local
 * cloud, timing it and counting its requests per service with a middleware on the very clients
 * the function uses: the table (DocumentClient), S3 and KMS. Four cases: the first checkpoint of
 * the chains, a scheduled run when nothing moved, a checkpoint after every chain grew by one
 * (each grown chain's recorded entry is read back), and verifying one chain against it.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { ms, table } from './stats.ts';

export interface CheckpointCase {
  case: string;
  outcome: string;
  ms: number;
  /** Requests by command name, e.g. `QueryCommand: 1`. */
  requests: Record<string, number>;
}

export interface CheckpointReport {
  chains: number;
  /** Size of the stored checkpoint object for that many chains. */
  objectBytes: number;
  cases: CheckpointCase[];
}

export async function measureCheckpoints(cloud: LocalCloud, chains = 1_000): Promise<CheckpointReport> {
  // After the cloud has set the functions' environment, as the local runtime imports them.
  const { documentClient, tableName } = await import('../../shared/store/dynamo.ts');
  const { checkpointClients } = await import('../../shared/audit/checkpoint-store.ts');
  const { takeCheckpoint } = await import('../../shared/audit/checkpoints.ts');
  const { auditKeys } = await import('../../shared/audit/keys.ts');
  const { hashOf, GENESIS_HASH } = await import('../../shared/audit/chain.ts');

  const sent: Record<string, number> = {};
  const count =
    (service: string) =>
    (next: (args: never) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: never) => {
      const name = `${service} ${String(context.commandName).replace(/Command$/, '')}`;
      sent[name] = (sent[name] ?? 0) + 1;
      return next(args);
    };
  const clients = { DynamoDB: documentClient, S3: checkpointClients.s3, KMS: checkpointClients.kms };
  for (const [service, client] of Object.entries(clients)) {
    (client.middlewareStack as { add: (m: unknown, o: object) => void }).add(count(service), {
      step: 'initialize',
      name: 'countBenchRequests',
    });
  }

  const run = `bench${Date.now().toString(36)}`;
  const subjects = Array.from({ length: chains }, (_, i) => `app/${run}_${String(i).padStart(5, '0')}`);
  const entry = (subject: string, seq: number, prev: string) => {
    const content = {
      seq,
      event_id: `${run}-${subject}-${seq}`,
      time: new Date().toISOString(),
      actor: 'bench',
      subject,
      type: 'Application Updated',
      source: 'slipway.catalog',
      request_id: null,
      project_id: null,
      data: { seq },
      prev_hash: prev,
    };
    return { ...content, hash: hashOf(content) };
  };
  const hashes = new Map<string, string>();
  /** Entry `seq` of every chain, and its head moved there: 25 items per BatchWriteItem. */
  const seed = async (seq: number) => {
    const items = subjects.flatMap((subject) => {
      const e = entry(subject, seq, hashes.get(subject) ?? GENESIS_HASH);
      hashes.set(subject, e.hash);
      const head = {
        ...auditKeys.head(subject),
        ...auditKeys.headIndex(subject),
        subject,
        seq,
        hash: e.hash,
        project_id: null,
      };
      return [{ ...auditKeys.entry(subject, seq), ...e }, head];
    });
    for (let i = 0; i < items.length; i += 25) {
      await documentClient.send(
        new BatchWriteCommand({
          RequestItems: { [tableName()]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }
  };

  const cases: CheckpointCase[] = [];
  let objectBytes = 0;
  const measure = async (name: string, action: () => Promise<{ outcome: string; key?: string }>) => {
    for (const key of Object.keys(sent)) delete sent[key];
    const started = performance.now();
    const result = await action();
    cases.push({ case: name, outcome: result.outcome, ms: performance.now() - started, requests: { ...sent } });
    return result;
  };

  await seed(1);
  const first = await measure(`first checkpoint of ${chains} new chains`, () => takeCheckpoint({ kind: 'schedule' }));
  await measure('scheduled, nothing moved (skipped)', () => takeCheckpoint({ kind: 'schedule' }));
  await seed(2);
  const grown = await measure(`every one of ${chains} chains grew by one`, () => takeCheckpoint({ kind: 'schedule' }));
  for (const key of [first.key, grown.key]) {
    const out = await checkpointClients.s3.send(
      new GetObjectCommand({ Bucket: process.env.SLIPWAY_AUDIT_BUCKET, Key: key }),
    );
    objectBytes = Math.max(objectBytes, Number(out.ContentLength ?? 0));
    await out.Body?.transformToByteArray();
  }
  const token = await cloud.mintToken({ sub: 'bench', groups: ['platform-admins'] });
  const verify = async () => {
    const reply = await fetch(`${cloud.url}/api/v1/audit/verify?subject=${encodeURIComponent(subjects[0] as string)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await reply.json()) as { valid?: boolean };
    return { outcome: `${reply.status} valid=${body.valid}` };
  };
  await verify(); // the audit function's cold start is not the checkpoint's cost
  await measure('GET /audit/verify of one 2-entry chain (API, warm)', verify);
  return { chains, objectBytes, cases };
}

export function checkpointsMarkdown(report: CheckpointReport): string {
  const rows = report.cases.map((c) => [
    c.case,
    c.outcome,
    ms(c.ms, 0),
    Object.entries(c.requests)
      .sort()
      .map(([name, n]) => `${name} ×${n}`)
      .join(', '),
  ]);
  return [
    '## Audit checkpoints',
    '',
    `${report.chains} chains seeded directly; the checkpointer's use case run in process against the local cloud (DynamoDB Local, local S3 and KMS). Stored checkpoint: ${(report.objectBytes / 1024).toFixed(0)} KB.`,
    '',
    table(['case', 'outcome', 'time', 'requests'], rows),
  ].join('\n');
}
