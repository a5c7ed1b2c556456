/**
 * What the Kubernetes simulator's tests share: its two independent clients — @kubernetes/client-node
 * and kubectl (SLIPWAY_KUBECTL, or kubectl on PATH; Debian's kubernetes-client works) — and how they
 * read a refusal.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { ApiException, type CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
export const fieldManager = 'slipway-test';

export async function applyNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.patchNamespace(
    { name, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, fieldManager, force: true },
    serverSideApply,
  );
}

/** The status code and the Status `reason` of a refused call (client-node drops the body of a 401). */
export async function failure(call: Promise<unknown>): Promise<{ code: number; reason: string | undefined }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiException)) throw new Error(`expected an ApiException, got ${String(error)}`);
  return { code: error.code, reason: error.body === undefined ? undefined : JSON.parse(String(error.body)).reason };
}

/** SLIPWAY_KUBECTL, or kubectl on PATH. */
function findKubectl(): string | undefined {
  if (process.env.SLIPWAY_KUBECTL) return process.env.SLIPWAY_KUBECTL;
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(folder, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export const kubectl = findKubectl();
export const run = promisify(execFile);
