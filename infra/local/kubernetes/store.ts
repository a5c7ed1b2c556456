/**
 * The simulator's etcd: objects by resource, one global revision counter (every write gets the next
 * `resourceVersion`, as strings on the wire), and a bounded history of changes so a watch can resume
 * from a resourceVersion the way client-go's informers and `kubectl rollout status` do.
 */
import type { FieldManager } from './apply.ts';
import type { JsonObject } from './json.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  resource: string;
  type: WatchEventType;
  object: JsonObject;
  revision: number;
}

export interface StoredObject {
  object: JsonObject;
  owners: FieldManager[];
}

const historyLimit = 5000;

export class ObjectStore {
  #revision = 1;
  #objects = new Map<string, Map<string, StoredObject>>();
  #history: StoreEvent[] = [];
  /** Changes up to this revision were dropped from history: a watch from before it gets 410 Gone. */
  #compactedThrough = 0;
  #listeners = new Set<(event: StoreEvent) => void>();

  get revision(): number {
    return this.#revision;
  }

  get(resource: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#table(resource).get(key(namespace, name));
  }

  list(resource: string, namespace?: string): StoredObject[] {
    const all = [...this.#table(resource).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, stored]) => stored);
    return namespace === undefined ? all : all.filter((stored) => metadataOf(stored.object).namespace === namespace);
  }

  /** Stores `object` under the next revision (which it gets as its resourceVersion) and tells watchers. */
  write(resource: string, object: JsonObject, owners: FieldManager[]): JsonObject {
    const metadata = metadataOf(object);
    const id = key(metadata.namespace as string | undefined, String(metadata.name));
    const type = this.#table(resource).has(id) ? 'MODIFIED' : 'ADDED';
    this.#revision += 1;
    metadata.resourceVersion = String(this.#revision);
    this.#table(resource).set(id, { object, owners });
    this.#record({ resource, type, object: structuredClone(object), revision: this.#revision });
    return object;
  }

  remove(resource: string, namespace: string | undefined, name: string): JsonObject | undefined {
    const stored = this.get(resource, namespace, name);
    if (!stored) return undefined;
    this.#table(resource).delete(key(namespace, name));
    this.#revision += 1;
    const object = structuredClone(stored.object);
    metadataOf(object).resourceVersion = String(this.#revision);
    this.#record({ resource, type: 'DELETED', object, revision: this.#revision });
    return object;
  }

  /** Changes to `resource` after `revision`, or 'expired' when history no longer reaches back that far. */
  changesSince(resource: string, revision: number): StoreEvent[] | 'expired' {
    if (revision < this.#compactedThrough) return 'expired';
    return this.#history.filter((event) => event.resource === resource && event.revision > revision);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #record(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - historyLimit);
      this.#compactedThrough = dropped.at(-1)?.revision ?? this.#compactedThrough;
    }
    for (const listener of this.#listeners) listener(event);
  }

  #table(resource: string): Map<string, StoredObject> {
    let table = this.#objects.get(resource);
    if (!table) {
      table = new Map();
      this.#objects.set(resource, table);
    }
    return table;
  }
}

export function metadataOf(object: JsonObject): JsonObject {
  return object.metadata as JsonObject;
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}
