import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../../infra/local/cloud.ts';
import { type Client, client } from '../client.ts';
import { bodies, create } from '../seed.ts';

/**
 * A store that stops answering: the functions reach DynamoDB Local through a TCP relay this test
 * can cut. Requests then fail fast with 503 + Retry-After, write nothing, and work again once the
 * store is back.
 */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly target: URL;
  port = 0;

  constructor(target: URL) {
    this.target = target;
  }

  async open(): Promise<void> {
    this.server = createServer((inbound) => {
      const outbound = connect(Number(this.target.port), this.target.hostname);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let relay: Relay;
let cloud: LocalCloud;
let admin: Client;

beforeAll(async () => {
  relay = new Relay(new URL(inject('dynamoEndpoint')));
  await relay.open();
  cloud = await startLocalCloud({
    port: 0,
    inMemory: true,
    quiet: true,
    dynamoEndpoint: `http://127.0.0.1:${relay.port}`,
    tableName: `slipway-outage-${randomUUID().slice(0, 8)}`,
  });
  admin = client(cloud.url, await cloud.mintToken({ sub: 'root', groups: ['platform-admins'] }));
});
afterAll(async () => {
  await cloud?.stop();
  await relay?.cut().catch(() => undefined);
});

describe('a data store that does not answer', () => {
  it('gets 503 with Retry-After, writes nothing, and recovers when the store is back', async () => {
    const project = await create(admin, '/api/v1/projects', bodies.project());
    await relay.cut();

    const body = bodies.project();
    const created = await admin.post('/api/v1/projects', body, { 'idempotency-key': 'during-outage' });
    expect(created.status).toBe(503);
    expect(created.body.type).toBe('https://slipway.dev/problems/store-unavailable');
    expect(created.headers.get('retry-after')).toBe('2');
    const read = await admin.get(`/api/v1/projects/${project.id}`);
    expect(read.status).toBe(503);
    expect(read.text).not.toMatch(/ECONNREFUSED|at .*\.ts/);

    await relay.open();
    const names = (await admin.get('/api/v1/projects?limit=100')).body.items.map((p: { name: string }) => p.name);
    expect(names).toEqual([project.name]);
    // the key claimed nothing during the outage: the same request now simply succeeds
    const retried = await admin.post('/api/v1/projects', body, { 'idempotency-key': 'during-outage' });
    expect(retried.status).toBe(201);
  });
});
