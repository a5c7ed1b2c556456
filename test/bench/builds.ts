/**
 * Section: what builds cost. Builds go through the HTTP API to the local Step Functions running
 * the real build ASL (no wait overrides: it collects the log every 2 s) against the simulated
 * cluster's builder at pace 0, so the time measured is the platform's own: API, state machine,
 * builder function, Kubernetes API calls, DynamoDB writes. Also: the state transitions a build
 * takes, what its log costs to store (bytes per line, write units), and how fast one EventSource
 * client receives a long stored log through the event stream (with its reconnects).
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { buildKeys, logPartition } from '../../shared/builds/keys.ts';
import { documentClient, tableName } from '../../shared/store/dynamo.ts';
import { getMany, type Item, queryAll } from '../../shared/store/table.ts';
import { eventually } from '../integration/client.ts';
import { deliveryWorld } from '../integration/delivery/world.ts';
import { parseEventStream } from '../integration/event-source.ts';
import { finishedHistory, type Summary, summary, USD_PER_1000_TRANSITIONS } from './delivery.ts';
import { ms, table } from './stats.ts';

/** DynamoDB on demand: $1.25 per million write request units; a transaction takes two per KB written. */
const USD_PER_MILLION_WRU = 1.25;

export interface BuildsReport {
  runs: number;
  /** POST until GET …/logs first answered a line (Slipway's first `[slipway]` line). */
  firstLineMs: Summary;
  /** POST until the log held a line the build container wrote. */
  firstBuildLineMs: Summary;
  /** POST until the build answered `succeeded`. */
  buildMs: Summary;
  transitions: number;
  log: {
    lines: number;
    textBytes: number;
    chunks: number;
    /** DynamoDB item bytes of the chunks (names and values, as DynamoDB sizes items). */
    storedBytes: number;
    /** Write request units of the log's transactions (chunk + build record, twice per KB). */
    writeUnits: number;
  };
  stream: { events: number; bytes: number; connections: number; ms: number };
}

export async function measureBuilds(cloud: LocalCloud, { runs = 8, warmups = 1 } = {}): Promise<BuildsReport> {
  const world = await deliveryWorld(cloud);
  const api = world.developer;
  let sha = 0;
  const once = async () => {
    const start = performance.now();
    const commit = (++sha).toString(16).padStart(40, 'a');
    const reply = await api.post('/api/v1/builds', { app_id: world.app.id, commit: { sha: commit, ref: 'main' } });
    if (reply.status !== 202) throw new Error(`POST /builds answered ${reply.status}: ${reply.text}`);
    const id = String(reply.body.id);
    let firstLine: number | undefined;
    let firstBuildLine: number | undefined;
    let done: number | undefined;
    const deadline = performance.now() + 60_000;
    while (done === undefined) {
      const [log, build] = await Promise.all([api.get(`/api/v1/builds/${id}/logs`), api.get(`/api/v1/builds/${id}`)]);
      const now = performance.now() - start;
      if (log.text && firstLine === undefined) firstLine = now;
      if (/^(?!\[slipway\]).+$/m.test(log.text) && firstBuildLine === undefined) firstBuildLine = now;
      if (build.body.state === 'succeeded') done = now;
      else if (['failed', 'cancelled'].includes(build.body.state)) throw new Error(`Build ${id}: ${build.body.reason}`);
      if (performance.now() > deadline) throw new Error(`Build ${id} still ${build.body.state} after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const arn = `${cloud.services.stateMachineArn('build').replace(':stateMachine:', ':execution:')}:${id}`;
    const { transitions } = await finishedHistory(cloud, arn);
    return { id, firstLine: firstLine ?? done, firstBuildLine: firstBuildLine ?? done, done, transitions };
  };
  for (let i = 0; i < warmups; i++) await once();
  const measured = [];
  for (let i = 0; i < runs; i++) measured.push(await once());
  const last = measured.at(-1);
  if (!last) throw new Error('No build measured');
  return {
    runs,
    firstLineMs: summary(measured.map((m) => m.firstLine)),
    firstBuildLineMs: summary(measured.map((m) => m.firstBuildLine)),
    buildMs: summary(measured.map((m) => m.done)),
    transitions: Math.max(...measured.map((m) => m.transitions)),
    log: await logCost(last.id),
    stream: await streamRate(cloud, last.id),
  };
}

/** What a real build's log occupies in the table, and the write units its transactions took. */
async function logCost(buildId: string): Promise<BuildsReport['log']> {
  const chunks = await queryAll({ partition: logPartition(buildId), consistent: true });
  const [build] = await getMany([buildKeys.build(buildId)]);
  const text = chunks.map((chunk) => String(chunk.text)).join('');
  const units = (item: Item) => Math.ceil(itemBytes(item) / 1024);
  // Each chunk was written in a transaction with an update of the build record: two units per KB each.
  const writeUnits = chunks.reduce((sum, chunk) => sum + 2 * (units(chunk) + units(build as Item)), 0);
  return {
    lines: text.split('\n').length - 1,
    textBytes: Buffer.byteLength(text),
    chunks: chunks.length,
    storedBytes: chunks.reduce((sum, chunk) => sum + itemBytes(chunk), 0),
    writeUnits,
  };
}

/** DynamoDB's item size: every attribute's name and value (numbers about one byte per two digits, plus one). */
function itemBytes(value: unknown, name = ''): number {
  const own = Buffer.byteLength(name);
  if (typeof value === 'string') return own + Buffer.byteLength(value);
  if (typeof value === 'number') return own + Math.ceil(String(Math.abs(value)).replace('.', '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return own + 1;
  if (Array.isArray(value)) return own + 3 + value.reduce((sum: number, v) => sum + 1 + itemBytes(v), 0);
  if (typeof value === 'object') {
    const entries = Object.entries(value as object);
    return own + 3 + entries.reduce((sum, [key, v]) => sum + 1 + itemBytes(v, key), 0);
  }
  return own;
}

/**
 * One EventSource client reading a long stored log: a copy of the build with 5,000 chunks of 1 KiB
 * (5 MiB: more than one answer carries, so it reconnects with Last-Event-ID), read to its end.
 */
async function streamRate(cloud: LocalCloud, sourceId: string): Promise<BuildsReport['stream']> {
  const [source] = await getMany([buildKeys.build(sourceId)]);
  if (!source) throw new Error(`No build ${sourceId}`);
  const id = `bld_${'0'.repeat(10)}${sourceId.slice(-16)}`;
  const line = `${'x'.repeat(1023)}\n`;
  const count = 5_000;
  const items = Array.from({ length: count }, (_, i) => ({
    ...buildKeys.logChunk(id, (i + 1) * line.length),
    offset: (i + 1) * line.length,
    text: line,
  }));
  for (let i = 0; i < items.length; i += 25) {
    const batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName()]: batch } }));
  }
  const record = { ...source, ...buildKeys.build(id), id, log: { bytes: count * line.length, chunks: count } };
  await documentClient.send(
    new BatchWriteCommand({ RequestItems: { [tableName()]: [{ PutRequest: { Item: record } }] } }),
  );

  const token = await cloud.mintToken({ sub: 'root', groups: ['platform-admins'] });
  const start = performance.now();
  let lastEventId = '';
  let events = 0;
  let bytes = 0;
  let connections = 0;
  await eventually(async () => {
    for (;;) {
      connections++;
      const response = await fetch(`${cloud.url}/api/v1/builds/${id}/logs`, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
      });
      if (response.status === 204) return;
      const parsed = parseEventStream(await response.text(), lastEventId);
      for (const event of parsed.events.filter((e) => e.type === 'message')) {
        events++;
        bytes += Buffer.byteLength(event.data);
      }
      lastEventId = parsed.lastEventId;
    }
  }, 120_000);
  return { events, bytes, connections, ms: performance.now() - start };
}

export function buildsMarkdown(report: BuildsReport): string {
  const row = (name: string, s: Summary) => [name, ms(s.p50, 0), ms(s.p90, 0), ms(s.min, 0), ms(s.max, 0)];
  const { log, stream } = report;
  const usdPerMillionLines = (log.writeUnits / log.lines) * USD_PER_MILLION_WRU;
  return [
    '## Builds',
    '',
    `Builds through the HTTP API on the local cloud: the real build ASL (no overrides: the log is collected every 2 s, then 4 s) on the local Step Functions, the simulated builder at pace 0 (its lines come at once). Time from \`POST /builds\` until the log first has a line (Slipway's own \`[slipway] building …\`), until it has a line the build container wrote, and until the build is \`succeeded\`; polled every 10 ms; ${report.runs} builds, sequential.`,
    '',
    table(
      ['', 'p50', 'p90', 'min', 'max'],
      [
        row('request → first log line', report.firstLineMs),
        row('request → first line from the build', report.firstBuildLineMs),
        row('request → succeeded', report.buildMs),
      ],
    ),
    '',
    `State transitions per build: ${report.transitions} here (start, collect, done?, record: the simulated build ends before its first collect), $${(report.transitions * USD_PER_1000_TRANSITIONS).toFixed(3)} per 1,000 builds; each further collect adds 3 (collect, done?, wait): every 2 s for the first 30 s, then every 4 s, about 45 a minute, $0.07 per 1,000 build-minutes.`,
    '',
    `Log storage, one simulated build: ${log.lines} lines, ${log.textBytes} bytes of text in ${log.chunks} chunks; stored items ${log.storedBytes} bytes, **${(log.storedBytes / log.lines).toFixed(1)} bytes per line** (text ${(log.textBytes / log.lines).toFixed(1)}, key and attributes the rest); writes ${log.writeUnits} write request units (each chunk in a transaction with the build record), ${(log.writeUnits / log.lines).toFixed(2)} per line, about $${usdPerMillionLines.toFixed(2)} per million lines.`,
    '',
    `One EventSource client reading a stored log of ${stream.events.toLocaleString('en')} chunks (${(stream.bytes / 1024 / 1024).toFixed(1)} MiB) to its end: ${stream.connections} connections (answers carry at most 4 MiB), ${ms(stream.ms, 0)}: **${Math.round((stream.events / stream.ms) * 1000).toLocaleString('en')} events per second**. A live build's events come as fast as the log is collected: one chunk per collect, every 2–4 s.`,
  ].join('\n');
}
