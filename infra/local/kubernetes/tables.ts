/**
 * `kubectl get`'s human output: kubectl asks for `application/json;as=Table;g=meta.k8s.io;v=v1` and
 * prints the columns the server chose, so the simulator answers Tables for its kinds.
 */
import type { JsonObject } from './json.ts';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  cell: (object: JsonObject, now: number) => string | number;
}

const name: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name of the object',
  cell: (o) => meta(o).name as string,
};
const age: Column = {
  name: 'Age',
  type: 'string',
  description: 'Time since creation',
  cell: (o, now) => since(String(meta(o).creationTimestamp), now),
};

const columnsByKind: Record<string, Column[]> = {
  Namespace: [
    name,
    { name: 'Status', type: 'string', description: 'Phase', cell: (o) => String(status(o).phase ?? '') },
    age,
  ],
  Deployment: [
    name,
    {
      name: 'Ready',
      type: 'string',
      description: 'Ready/desired',
      cell: (o) => `${Number(status(o).readyReplicas ?? 0)}/${Number(spec(o).replicas ?? 0)}`,
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      description: 'Updated replicas',
      cell: (o) => Number(status(o).updatedReplicas ?? 0),
    },
    {
      name: 'Available',
      type: 'integer',
      description: 'Available replicas',
      cell: (o) => Number(status(o).availableReplicas ?? 0),
    },
    age,
  ],
  Pod: [
    name,
    { name: 'Ready', type: 'string', description: 'Ready containers', cell: (o) => podReady(o) },
    { name: 'Status', type: 'string', description: 'Phase or waiting reason', cell: (o) => podStatus(o) },
    { name: 'Restarts', type: 'integer', description: 'Restarts', cell: () => 0 },
    age,
  ],
  Job: [
    name,
    { name: 'Status', type: 'string', description: 'Status of the job', cell: (o) => jobStatus(o) },
    {
      name: 'Completions',
      type: 'string',
      description: 'Succeeded/desired pods',
      cell: (o) => `${Number(status(o).succeeded ?? 0)}/${Number(spec(o).completions ?? 1)}`,
    },
    { name: 'Duration', type: 'string', description: 'Time the job ran', cell: (o, now) => jobDuration(o, now) },
    age,
  ],
  Secret: [
    name,
    { name: 'Type', type: 'string', description: 'The type of the secret', cell: (o) => String(o.type ?? '') },
    {
      name: 'Data',
      type: 'string',
      description: 'Number of keys',
      cell: (o) => Object.keys((o.data ?? {}) as JsonObject).length,
    },
    age,
  ],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      description: 'Last seen',
      cell: (o, now) => since(String(o.lastTimestamp), now),
    },
    { name: 'Type', type: 'string', description: 'Type', cell: (o) => String(o.type) },
    { name: 'Reason', type: 'string', description: 'Reason', cell: (o) => String(o.reason) },
    { name: 'Object', type: 'string', description: 'Object', cell: (o) => involved(o) },
    { name: 'Message', type: 'string', description: 'Message', cell: (o) => String(o.message) },
  ],
};

/** Whether the Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return accept?.includes('as=Table') ?? false;
}

export function toTable(
  kind: string,
  objects: JsonObject[],
  resourceVersion: string,
  includeObject: string | null,
): JsonObject {
  const columns = columnsByKind[kind] ?? [name, age];
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map(({ cell: _cell, ...column }) => ({ priority: 0, format: '', ...column })),
    rows: objects.map((object) => ({
      cells: columns.map((column) => column.cell(object, now)),
      ...(includeObject === 'None' ? {} : { object: includeObject === 'Object' ? object : partial(object) }),
    })),
  };
}

function partial(object: JsonObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata ?? {} };
}

function meta(object: JsonObject): JsonObject {
  return (object.metadata ?? {}) as JsonObject;
}
function spec(object: JsonObject): JsonObject {
  return (object.spec ?? {}) as JsonObject;
}
function status(object: JsonObject): JsonObject {
  return (object.status ?? {}) as JsonObject;
}

function podReady(pod: JsonObject): string {
  const containers = (status(pod).containerStatuses ?? []) as JsonObject[];
  return `${containers.filter((container) => container.ready).length}/${containers.length}`;
}

/** kubectl's pod status: a waiting container's reason, else a terminated one's (Completed, Error), else the phase. */
function podStatus(pod: JsonObject): string {
  const states = ((status(pod).containerStatuses ?? []) as JsonObject[]).map(
    (container) => (container.state ?? {}) as JsonObject,
  );
  const waiting = states.map((state) => state.waiting as JsonObject | undefined).find(Boolean);
  const terminated = states.map((state) => state.terminated as JsonObject | undefined).find(Boolean);
  return String((waiting ?? terminated)?.reason ?? status(pod).phase);
}

/** The Status column of `kubectl get jobs` (1.30+): the finishing condition, else Suspended or Running. */
function jobStatus(job: JsonObject): string {
  const conditions = (status(job).conditions ?? []) as JsonObject[];
  const finished = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (finished) return String(finished.type);
  return spec(job).suspend === true ? 'Suspended' : 'Running';
}

function jobDuration(job: JsonObject, now: number): string {
  const { startTime, completionTime } = status(job);
  if (startTime === undefined) return '';
  const end = completionTime === undefined ? now : Date.parse(String(completionTime));
  return humanDuration(end - Date.parse(String(startTime)));
}

function involved(event: JsonObject): string {
  const object = (event.involvedObject ?? {}) as JsonObject;
  return `${String(object.kind).toLowerCase()}/${String(object.name)}`;
}

function since(timestamp: string, now: number): string {
  return humanDuration(now - Date.parse(timestamp));
}

/** kubectl's short durations: 45s, 3m5s, 12m, 5h, 3d. */
function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}
