/**
 * Kubernetes `Status` answers for the simulator's errors: the `reason` and `code` pairs kube-apiserver
 * uses, so clients (client-node's ApiException, kubectl's messages) read them as they would on EKS.
 */
import type { JsonObject } from './json.ts';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

/** A failure the simulator answers with a `Status` object. */
export class KubernetesError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'KubernetesError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): JsonObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details as JsonObject } : {}),
      code: this.code,
    };
  }
}

/** What an object is, for messages: `deployments.apps "web"` as kube-apiserver words it. */
export interface ObjectRef {
  group: string;
  plural: string;
  kind: string;
  name: string;
}

function qualified(ref: ObjectRef): string {
  return ref.group ? `${ref.plural}.${ref.group}` : ref.plural;
}

export function notFound(ref: ObjectRef): KubernetesError {
  return new KubernetesError(404, 'NotFound', `${qualified(ref)} "${ref.name}" not found`, {
    name: ref.name,
    group: ref.group,
    kind: ref.plural,
  });
}

export function alreadyExists(ref: ObjectRef): KubernetesError {
  return new KubernetesError(409, 'AlreadyExists', `${qualified(ref)} "${ref.name}" already exists`, {
    name: ref.name,
    group: ref.group,
    kind: ref.plural,
  });
}

export function conflict(ref: ObjectRef, why: string): KubernetesError {
  return new KubernetesError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(ref)} "${ref.name}": ${why}`,
    {
      name: ref.name,
      group: ref.group,
      kind: ref.plural,
    },
  );
}

export function invalid(ref: ObjectRef, causes: StatusCause[]): KubernetesError {
  const list = causes.map((cause) => `${cause.field}: ${cause.message}`).join(', ');
  return new KubernetesError(422, 'Invalid', `${ref.kind} "${ref.name}" is invalid: ${list}`, {
    name: ref.name,
    group: ref.group,
    kind: ref.kind,
    causes: causes.map((cause) => ({ reason: cause.reason ?? 'FieldValueInvalid', ...cause })),
  });
}

export function badRequest(message: string): KubernetesError {
  return new KubernetesError(400, 'BadRequest', message);
}

export function unauthorized(): KubernetesError {
  return new KubernetesError(401, 'Unauthorized', 'Unauthorized');
}

export function unsupportedMediaType(contentType: string): KubernetesError {
  return new KubernetesError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType || 'none'})`,
  );
}

export function methodNotAllowed(): KubernetesError {
  return new KubernetesError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

export function successStatus(details: StatusDetails): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: details as JsonObject };
}
