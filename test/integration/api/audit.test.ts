import { DeleteCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../shared/audit/chain.ts';
import { auditKeys } from '../../../shared/audit/keys.ts';
import type { ReceivedChangeEvent } from '../../../shared/events/envelope.ts';
import { alterEntry, appSubject, chainOf as chainIn, change as changeOf, deliver, q, raw } from '../audit-log.ts';
import { type Client, client } from '../client.ts';
import type { TestCloud } from '../harness.ts';
import { adminSession, bodies, create, unique } from '../seed.ts';

/**
 * The audit log through the local cloud: the auditor is invoked with bus events the way the
 * audit rule delivers them (test/integration/audit-log.ts), and read back through the API.
 * Tampering goes straight to DynamoDB with a client of the test's own. Checkpoints: see
 * audit-checkpoints.test.ts.
 */

let cloud: TestCloud;
let admin: Client;
let project: { id: string };

const change = (subject: string, n: number, extra: Partial<ReceivedChangeEvent> = {}) =>
  changeOf(project.id, subject, n, extra);
const chainOf = (n: number) => chainIn(project.id, n);

async function scanOutbox(): Promise<ReceivedChangeEvent[]> {
  const events: ReceivedChangeEvent[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await raw.send(
      new ScanCommand({
        TableName: process.env.TABLE_NAME,
        FilterExpression: 'begins_with(PK, :outbox)',
        ExpressionAttributeValues: { ':outbox': 'OUTBOX#' },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    events.push(...(page.Items ?? []).map((i) => i.event as ReceivedChangeEvent));
    start = page.LastEvaluatedKey;
  } while (start);
  return events;
}

/** A user with `role` on the project (or none), signed in once so they exist. */
async function userWith(role: string | undefined, projectId = project.id): Promise<Client> {
  const sub = unique('auditee');
  const api = client(cloud.url, await cloud.mintToken({ sub }));
  await api.get('/api/v1/users/me');
  if (role)
    await create(admin, '/api/v1/roles/bind', {
      role,
      subject: { kind: 'user', id: sub },
      scope: { kind: 'project', project_id: projectId },
    });
  return api;
}

beforeAll(async () => {
  ({ cloud, admin } = await adminSession());
  project = await create(admin, '/api/v1/projects', bodies.project());
});
afterAll(() => cloud?.stop());

describe('change events of foundation writes', () => {
  it('a created project records exactly one outbox event, naming who, what and which request', async () => {
    const before = new Set((await scanOutbox()).map((e) => e.id));
    const body = bodies.project();
    const reply = await admin.post('/api/v1/projects', body);
    expect(reply.status).toBe(201);
    const added = (await scanOutbox()).filter((e) => !before.has(e.id));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      source: 'slipway.catalog',
      type: 'Project Created',
      subject: `project/${reply.body.id}`,
      project_id: reply.body.id,
      actor: 'root',
      request_id: reply.headers.get('apigw-requestid'),
      data: { id: reply.body.id, name: body.name, version: 1 },
    });

    const duplicate = await admin.post('/api/v1/projects', body);
    expect(duplicate.status).toBe(409);
    expect((await scanOutbox()).filter((e) => !before.has(e.id))).toHaveLength(1);
  });

  it('an update names the fields it changed', async () => {
    const before = new Set((await scanOutbox()).map((e) => e.id));
    const fresh = await create(admin, '/api/v1/projects', bodies.project());
    await admin.patch(`/api/v1/projects/${fresh.id}`, { description: 'changed' }, { 'if-match': '"v1"' });
    const updated = (await scanOutbox()).filter((e) => !before.has(e.id) && e.type === 'Project Updated');
    expect(updated).toHaveLength(1);
    expect(updated[0]?.data).toMatchObject({ id: fresh.id, version: 2, changes: ['description'] });
  });

  it('the outbox event of a write becomes the audit entry of its subject', async () => {
    const [created] = (await scanOutbox()).filter((e) => e.subject === `project/${project.id}`);
    expect(created?.type).toBe('Project Created');
    await deliver(created as ReceivedChangeEvent);
    const list = await admin.get(`/api/v1/audit?${q({ subject: `project/${project.id}` })}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ seq: 1, event_id: created?.id, type: 'Project Created', actor: 'root' });
  });
});

describe('the auditor', () => {
  it('turns a change event into one entry, and the same event again into none', async () => {
    const subject = appSubject();
    const event = change(subject, 1);
    expect(await deliver(event)).toEqual({ outcome: 'appended', seq: 1 });
    expect(await deliver(event)).toEqual({ outcome: 'duplicate' });
    // Two deliveries of one event at the same time: still one entry.
    const second = change(subject, 2);
    const outcomes = await Promise.all([deliver(second), deliver(second)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['appended', 'duplicate']);

    const list = await admin.get(`/api/v1/audit?${q({ subject })}`);
    expect(list.body.items.map((e: AuditEntry) => e.event_id)).toEqual([second.id, event.id]);
  });

  it('chains 10 concurrent events for one subject as seq 1..10, and the chain verifies', async () => {
    const subject = appSubject();
    const actor = unique('actor');
    const events = Array.from({ length: 10 }, (_, i) => change(subject, i + 1, { actor }));
    await Promise.all(events.map((e) => deliver(e)));

    const seen: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const page = await admin.get(`/api/v1/audit?${q({ subject, limit: '4', ...(cursor ? { cursor } : {}) })}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.body.items);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.map((e) => e.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(new Set(seen.map((e) => e.event_id))).toEqual(new Set(events.map((e) => e.id)));

    const verify = await admin.get(`/api/v1/audit/verify?${q({ subject })}`);
    expect(verify.body).toEqual({ subject, entries: 10, valid: true, checkpoint: null, findings: [] });

    const byActor = await admin.get(`/api/v1/audit?${q({ actor, limit: '100' })}`);
    expect(byActor.body.items).toHaveLength(10);
    const byProject = await admin.get(`/api/v1/audit?${q({ project_id: project.id, limit: '100' })}`);
    expect(byProject.body.items.filter((e: AuditEntry) => e.subject === subject)).toHaveLength(10);
  });
});

describe('tampering', () => {
  it('an entry whose data was altered in the table makes its chain invalid from that seq', async () => {
    const subject = await chainOf(3);
    await alterEntry(subject, 2);
    const verify = await admin.get(`/api/v1/audit/verify?${q({ subject })}`);
    expect(verify.body).toMatchObject({ subject, entries: 3, valid: false, first_invalid_seq: 2 });
  });

  it('an entry deleted from the table makes its chain invalid', async () => {
    const subject = await chainOf(3);
    await raw.send(new DeleteCommand({ TableName: process.env.TABLE_NAME, Key: auditKeys.entry(subject, 2) }));
    const verify = await admin.get(`/api/v1/audit/verify?${q({ subject })}`);
    expect(verify.body).toEqual({
      subject,
      entries: 2,
      valid: false,
      first_invalid_seq: 2,
      reason: 'entry 2 is missing',
      checkpoint: null,
      findings: [{ type: 'chain-broken', seq: 2, message: 'entry 2 is missing' }],
    });
  });
});

describe('who may read the audit log', () => {
  let subject: string;
  beforeAll(async () => {
    subject = await chainOf(2);
  });

  it('a maintainer of the project reads its subjects, its history and verifies', async () => {
    const maintainer = await userWith('maintainer');
    expect((await maintainer.get(`/api/v1/audit?${q({ subject })}`)).body.items).toHaveLength(2);
    const history = await maintainer.get(`/api/v1/audit?${q({ project_id: project.id })}`);
    expect(history.status).toBe(200);
    expect(history.body.items.length).toBeGreaterThan(0);
    expect((await maintainer.get(`/api/v1/audit/verify?${q({ subject })}`)).body.valid).toBe(true);
  });

  it('a viewer of the project sees that it exists but may not read it (403)', async () => {
    const viewer = await userWith('viewer');
    expect((await viewer.get(`/api/v1/audit?${q({ subject })}`)).status).toBe(403);
    expect((await viewer.get(`/api/v1/audit?${q({ project_id: project.id })}`)).status).toBe(403);
  });

  it('a member of another project learns nothing (404), not even by actor', async () => {
    const other = await create(admin, '/api/v1/projects', bodies.project());
    const outsider = await userWith('viewer', other.id);
    expect((await outsider.get(`/api/v1/audit?${q({ subject })}`)).status).toBe(404);
    expect((await outsider.get(`/api/v1/audit/verify?${q({ subject })}`)).status).toBe(404);
    expect((await outsider.get(`/api/v1/audit?${q({ project_id: project.id })}`)).status).toBe(404);
    expect((await outsider.get(`/api/v1/audit?${q({ actor: 'root' })}`)).status).toBe(403);
  });

  it('platform subjects need audit.read on the platform', async () => {
    const cluster = await create(admin, '/api/v1/clusters', bodies.cluster());
    const [event] = (await scanOutbox()).filter((e) => e.subject === `cluster/${cluster.id}`);
    await deliver(event as ReceivedChangeEvent);
    const maintainer = await userWith('maintainer');
    expect((await maintainer.get(`/api/v1/audit?${q({ subject: `cluster/${cluster.id}` })}`)).status).toBe(404);
    const entries = (await admin.get(`/api/v1/audit?${q({ subject: `cluster/${cluster.id}` })}`)).body.items;
    expect(entries).toHaveLength(1);
    expect(JSON.stringify(entries)).not.toContain('token_secret_arn');
  });
});

describe('asking the audit API', () => {
  it('needs exactly one of subject, actor and project_id', async () => {
    const refused: Record<string, string>[] = [{}, { subject: 'project/x', actor: 'root' }, { project_id: 'nope' }];
    for (const params of refused) {
      const reply = await admin.get(`/api/v1/audit?${q(params)}`);
      expect(reply.status, JSON.stringify(params)).toBe(400);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
    }
    expect((await admin.get(`/api/v1/audit/verify?${q({ actor: 'root' })}`)).status).toBe(400);
  });

  it('only reads the table: a caller seen for the first time is not registered by it', async () => {
    const sub = unique('first-call');
    const stranger = client(cloud.url, await cloud.mintToken({ sub }));
    expect((await stranger.get(`/api/v1/audit?${q({ project_id: project.id })}`)).status).toBe(404);
    const user = await raw.send(
      new GetCommand({ TableName: process.env.TABLE_NAME, Key: { PK: `USER#${sub}`, SK: 'USER' } }),
    );
    expect(user.Item).toBeUndefined();
  });

  it('answers 404 for a subject with no audit log', async () => {
    expect((await admin.get(`/api/v1/audit?${q({ subject: appSubject() })}`)).status).toBe(404);
  });
});
