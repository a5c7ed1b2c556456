/**
 * The simulator's workloads besides deployments, and the hooks cluster.ts and simulator.ts call:
 * batch/v1 Jobs (jobs.ts) whose pods a kubelet runs (kubelet.ts), their containers' logs
 * (pod-logs.ts) — the simulated image builder's among them (builds.ts) — Secrets (secrets.ts), and
 * owner-reference garbage collection (gc.ts). Its controllers watch the store, as real ones do.
 */
import type { ServerResponse } from 'node:http';
import { beforeDelete, propagationPolicy, startGarbageCollector } from './gc.ts';
import { admitJob, JobController } from './jobs.ts';
import type { JsonObject } from './json.ts';
import { SimulatedKubelet } from './kubelet.ts';
import { PodLogs, servePodLog } from './pod-logs.ts';
import { admitSecret } from './secrets.ts';
import type { ObjectStore } from './store.ts';

/** A write's checks and defaults that need the object's uid (a Job's selector is made of it). */
export function admit(kind: string, object: JsonObject, previous: JsonObject | undefined): void {
  if (kind === 'Job') admitJob(object, previous);
  if (kind === 'Secret') admitSecret(object);
}

/**
 * Before `object` is deleted: its dependents are orphaned, or deleted first (Foreground: the answer
 * the DELETE then gets), or left to the garbage collector (Background), as DeleteOptions say.
 */
export function cascade(
  store: ObjectStore,
  kind: string,
  object: JsonObject,
  request: { query: URLSearchParams; body?: string },
): JsonObject | undefined {
  return beforeDelete(store, object, propagationPolicy(kind, request.query, request.body));
}

export interface Workloads {
  /** The time a pod takes to start, and the unit of a simulated build's pace. */
  setPace(paceMs: number): void;
  /** `GET .../pods/{name}/log` for `pod`; open follows are added to `streams` so a stop can end them. */
  serveLog(pod: JsonObject, query: URLSearchParams, response: ServerResponse, streams: Set<ServerResponse>): void;
  stop(): void;
}

export function startWorkloads(store: ObjectStore, paceMs: number): Workloads {
  const logs = new PodLogs();
  const kubelet = new SimulatedKubelet(store, logs, paceMs);
  const jobs = new JobController(store);
  const stopCollector = startGarbageCollector(store);
  return {
    setPace: (ms) => kubelet.setPace(ms),
    serveLog: (pod, query, response, streams) => servePodLog(logs, pod, query, response, streams),
    stop: () => {
      kubelet.stop();
      jobs.stop();
      stopCollector();
    },
  };
}
