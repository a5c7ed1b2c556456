/**
 * The OpenAPI 3.1 document, built from operations.ts: JSON Schemas come from the same zod/mini
 * schemas the handlers validate with, so the document cannot drift from what the API accepts.
 */

import * as z from 'zod/mini';
import type { JSONSchema } from 'zod/v4/core';
import { config } from '../../config.ts';
import { providerApiUrl } from '../../domain/app.ts';
import { cronExpression, timeZone } from '../../domain/calendar.ts';
import { webhookUrl } from '../../domain/channel.ts';
import { clusterChanges } from '../../domain/cluster.ts';
import { envNamespace } from '../../domain/environment.ts';
import { httpsUrl, labels } from '../../domain/fields.ts';
import { oneOffWindow } from '../../domain/freeze.ts';
import { buildArgs, glob, repoPath } from '../../domain/pipeline.ts';
import { newSchedule, scheduleChanges } from '../../domain/schedule.ts';
import { CURSOR_PATTERN, DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT } from '../../store/paging.ts';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_RETENTION_HOURS } from '../idempotency-key.ts';
import { MAX_JSON_DEPTH } from '../json.ts';
import { MAX_BODY_BYTES } from '../kernel.ts';
import { type ErrorStatus, type Operation, operations, type Success, schemas, tags } from './operations.ts';

export type JsonSchema = JSONSchema.BaseSchema;
export type Ref = { $ref: string };

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: JsonSchema;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, Ref>;
  content?: Record<string, { schema: JsonSchema }>;
}

export interface OperationObject {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  security?: Record<string, string[]>[];
  parameters?: (ParameterObject | Ref)[];
  requestBody?: { required: true; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, OperationObject>>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, ParameterObject>;
    headers: Record<string, { description: string; schema: JsonSchema }>;
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; bearerFormat: 'JWT'; description: string }>;
  };
}

export const MAX_BODY_KIB = MAX_BODY_BYTES / 1024;

const INFO = `Slipway: projects, applications, environments and the clusters they deploy to, with role-based access.

Authentication: every route under /api/v1 except health and openapi.json needs \`Authorization: Bearer <token>\`, an access token (JWT) from the organisation's OIDC provider with the audience this API trusts. Without one API Gateway answers 401 before any function runs. Locally, \`npm run -s token -- --sub alice --groups platform-admins\` mints one from the dev issuer.

Conventions: reads answer an ETag; PUT, PATCH and DELETE of projects, applications, environments, clusters and teams need it back in If-Match (428 without, 412 when stale). Every POST may carry an Idempotency-Key: a retry with the same key and body replays the first answer (header \`idempotent-replayed: true\`). Lists are pages: \`limit\` (1 to ${MAX_LIMIT}, default ${DEFAULT_LIMIT}) and \`cursor\` from the previous page's \`next_cursor\`. Bodies are JSON of at most ${MAX_BODY_KIB} KiB, nested at most ${MAX_JSON_DEPTH} levels, without \`__proto__\`, \`constructor\` or \`prototype\` keys; PATCH takes an RFC 7396 merge patch. Errors are RFC 9457 problem+json.

Limits: every write (POST, PUT, PATCH, DELETE) counts against the caller's quota of writes a minute, and every deploy or rollback request against its environment's quota of deploys a minute; the answer says where it stands in the \`RateLimit\` and \`RateLimit-Policy\` fields (draft-ietf-httpapi-ratelimit-headers), and a request over a quota is refused with 429 and \`Retry-After\`, writing nothing. Reads are never counted. Beyond the API's overall rate, API Gateway itself answers 429 \`{"message":"Too Many Requests"}\`.`;

/** What a refine() checks has no JSON Schema form: say it here, for each refined schema. */
const refinements = new Map<unknown, JsonSchema>([
  [
    cronExpression,
    {
      description:
        'A standard 5-field cron (minute hour day-of-month month day-of-week; names, ranges, steps and lists), not AWS’s 6-field form. A refusal names the field.',
    },
  ],
  [timeZone, { description: 'An IANA time zone, e.g. Europe/Berlin, America/New_York, UTC.' }],
  [oneOffWindow, { description: '`ends_at` is after `starts_at`, at most 30 days later.' }],
  [httpsUrl, { format: 'uri', pattern: '^https://', description: 'An https URL without user or password.' }],
  [labels, { maxProperties: 20 }],
  [
    webhookUrl,
    {
      format: 'uri',
      description:
        "The platform's incoming webhook URL: https, on the platform's host (hooks.slack.com, open.feishu.cn or open.larksuite.com, oapi.dingtalk.com, qyapi.weixin.qq.com) or a configured self-hosted one.",
    },
  ],
  [
    providerApiUrl,
    {
      format: 'uri',
      pattern: '^https://',
      description:
        "The provider's API root (GitHub Enterprise `https://ghe.example.com/api/v3`, self-managed GitLab " +
        '`https://gitlab.example.com/api/v4`): https, without user, password, query or fragment. Default ' +
        'https://api.github.com or https://gitlab.com/api/v4.',
    },
  ],
  [buildArgs, { maxProperties: 50 }],
  [
    glob,
    {
      description:
        'A glob: `*` any run of characters but `/`, `**` any run including `/`, `?` one character, `[a-z]` one of a set; a leading `!` excludes. No control characters.',
    },
  ],
  [repoPath, { description: 'A path inside the repository: relative, without `..`, not starting with `/` or `~`.' }],
  [
    envNamespace,
    {
      not: { anyOf: [{ const: 'default' }, { pattern: '^kube-' }] },
      description: 'A DNS label; default, kube-* and the namespaces the platform reserves are refused.',
    },
  ],
  [
    clusterChanges.shape.api_server_url,
    {
      format: 'uri',
      pattern: '^https://',
      description:
        "The cluster's API server: an https URL without user or password, never on a loopback, unspecified, " +
        'link-local or metadata address (in any spelling). A host name is checked on what it resolves to, at each ' +
        "connection. Private addresses are allowed, within the platform's allowed cluster networks when it sets them.",
    },
  ],
  [
    cronExpression,
    {
      description:
        'A standard 5-field cron expression (minute hour day-of-month month day-of-week: `*`, lists, ranges, steps, month and day names), not AWS’s 6 fields; restrict the day of month or the day of week, not both.',
    },
  ],
  [timeZone, { description: 'An IANA time zone (Europe/Berlin, America/New_York, UTC).' }],
  [
    newSchedule,
    { description: 'Exactly one of `at` (one fire, in the future) and `cron` (a recurrence, with its `timezone`).' },
  ],
  [
    scheduleChanges,
    { description: 'Exactly one of `at` (one fire, in the future) and `cron` (a recurrence, with its `timezone`).' },
  ],
  [
    clusterChanges.shape.ca_data,
    {
      contentEncoding: 'base64',
      description: 'Base64 of the PEM CA certificate (kubeconfig certificate-authority-data).',
    },
  ],
]);

const override = ({ zodSchema, jsonSchema }: { zodSchema: z.core.$ZodType; jsonSchema: JsonSchema }) => {
  const checks = zodSchema._zod.def.checks ?? [];
  if (checks.some((check) => check._zod.def.check === 'custom') && !refinements.has(zodSchema)) {
    throw new Error(`A refine() is not described in shared/http/openapi/document.ts: ${JSON.stringify(jsonSchema)}`);
  }
  Object.assign(jsonSchema, refinements.get(zodSchema));
  // zod states the safe-integer range and a date-time regex; `format` and real bounds say enough.
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
};

// Requests and responses have no transforms or defaults: their input and output shapes agree, and
// `input` leaves response objects open (clients must ignore fields they do not know).
const options = { target: 'draft-2020-12', io: 'input', override } as const;
const ref = (name: string): Ref => ({ $ref: `#/components/schemas/${name}` });
const names = new Map(Object.entries(schemas).map(([name, schema]) => [schema, name]));

function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(schemas)) registry.add(schema, { id: name });
  const converted = z.toJSONSchema(registry, { ...options, uri: (id) => ref(id).$ref }).schemas;
  return Object.fromEntries(Object.entries(converted).map(([name, { $schema, $id, ...schema }]) => [name, schema]));
}

/** A named schema by reference, anything else inline. */
function schemaOf(schema: z.ZodMiniType): JsonSchema {
  const name = names.get(schema);
  if (name) return ref(name);
  const { $schema, ...inline } = z.toJSONSchema(schema, options);
  return inline;
}

/** `AppChanges` → `AppPatch`, `PipelineDefinition` → `PipelineDefinitionPatch`. */
const patchName = (name: string) => `${name.replace(/Changes$/, '')}Patch`;

/** RFC 7396: every field optional, objects merge field by field, `null` removes an optional field. */
function mergePatchOf(schema: JsonSchema): JsonSchema {
  if (schema.type !== 'object') return schema;
  const { required = [], properties, additionalProperties, ...rest } = schema;
  const nullable = (s: JSONSchema._JSONSchema): JsonSchema => ({ anyOf: [s as JsonSchema, { type: 'null' }] });
  return {
    ...rest,
    ...(properties && {
      properties: Object.fromEntries(
        Object.entries(properties).map(([key, s]) => [
          key,
          required.includes(key) ? mergePatchOf(s as JsonSchema) : nullable(mergePatchOf(s as JsonSchema)),
        ]),
      ),
    }),
    ...(additionalProperties !== undefined && {
      additionalProperties:
        typeof additionalProperties === 'object' ? nullable(additionalProperties) : additionalProperties,
    }),
  };
}

const GENERIC_ERRORS: Record<ErrorStatus, string> = {
  400: 'The request is not valid; `invalid_params` names each offending field.',
  401: 'No valid bearer token (answered by API Gateway, not as problem+json).',
  403: 'You may see this but not do this.',
  404: 'It does not exist, or you cannot see it.',
  409: 'A request with the same Idempotency-Key is still running: retry shortly.',
  412: 'It changed since you read it (If-Match is stale): read it again and retry.',
  413: `The body is larger than ${MAX_BODY_KIB} KiB.`,
  415: 'The body is not sent as application/json (or, where taken, application/yaml).',
  422: 'This Idempotency-Key was used with a different body.',
  428: 'If-Match is missing: send the ETag you read.',
  429: 'Over a quota (your writes a minute; for a deploy or rollback, also its environment’s deploys a minute): nothing was written. Retry after `Retry-After` seconds.',
  503: 'The data store did not answer; nothing was changed. Retry after `Retry-After` seconds.',
};

/** Writes count against the caller's quota (shared/http/quota.ts); reads and public routes never do. */
const counted = (op: Operation) => !op.public && op.method !== 'GET';
const rateLimitHeaders = {
  RateLimit: { $ref: '#/components/headers/RateLimit' },
  'RateLimit-Policy': { $ref: '#/components/headers/RateLimitPolicy' },
};

function errorsOf(op: Operation): Partial<Record<ErrorStatus, string>> {
  const implied = new Set<ErrorStatus>();
  const add = (when: unknown, ...statuses: ErrorStatus[]) => {
    if (when) for (const status of statuses) implied.add(status);
  };
  add(op.body || op.paged || op.idempotencyKey || op.parameters?.some((p) => p.in === 'query'), 400);
  add(!op.public, 401);
  add(
    op.parameters?.some((p) => p.in === 'path'),
    404,
  );
  add(op.idempotencyKey, 409, 422);
  add(op.ifMatch, 412, 428);
  add(op.body, 413, 415);
  add(counted(op), 429);
  add(!op.public, 503);
  const statuses = [...new Set([...implied, ...(Object.keys(op.errors ?? {}).map(Number) as ErrorStatus[])])].sort();
  return Object.fromEntries(
    statuses.map((status) => {
      const specific = op.errors?.[status];
      const generic = implied.has(status) ? GENERIC_ERRORS[status] : undefined;
      return [status, [specific, generic].filter(Boolean).join(' Or: ')];
    }),
  );
}

/** The same schema under each media type the answer may come as. */
const contentOf = (schema: Success['schema'] & object, mediaType: Success['mediaType'] = 'application/json') =>
  Object.fromEntries([mediaType].flat().map((type) => [type, { schema: schemaOf(schema) }]));

function operationObject(op: Operation): OperationObject {
  const templateParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
  if (templateParams.join() !== pathParams.join())
    throw new Error(`${op.operationId}: path parameters must be ${templateParams}`);

  const parameters: (ParameterObject | Ref)[] = [
    ...(op.parameters ?? []).map((p) => ({
      name: p.name,
      in: p.in,
      required: p.in === 'path',
      description: p.description,
      schema: schemaOf(p.schema),
    })),
    ...(op.paged ? [{ $ref: '#/components/parameters/Limit' }, { $ref: '#/components/parameters/Cursor' }] : []),
    ...(op.ifMatch ? [{ $ref: '#/components/parameters/IfMatch' }] : []),
    ...(op.idempotencyKey ? [{ $ref: '#/components/parameters/IdempotencyKey' }] : []),
  ];
  const bodyName = op.body && names.get(op.body.schema);
  if (op.body && !bodyName)
    throw new Error(`${op.operationId}: its body schema has no name in operations.ts \`schemas\``);
  const body = bodyName && ref(op.body?.mergePatch ? patchName(bodyName) : bodyName);
  const media = op.body?.mergePatch
    ? ['application/merge-patch+json', 'application/json']
    : ['application/json', ...(op.body?.yaml ? ['application/yaml'] : [])];

  const responses: Record<string, ResponseObject> = {};
  for (const s of op.success) {
    const headers = {
      ...(s.etag ? { ETag: { $ref: '#/components/headers/ETag' } } : {}),
      ...(s.location ? { Location: { $ref: '#/components/headers/Location' } } : {}),
      ...(op.idempotencyKey ? { 'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' } } : {}),
      ...(counted(op) ? rateLimitHeaders : {}),
    };
    responses[s.status] = {
      description: s.description,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(s.schema ? { content: contentOf(s.schema, s.mediaType) } : {}),
    };
  }
  for (const [status, description] of Object.entries(errorsOf(op))) {
    responses[status] =
      status === '401'
        ? { description, content: { 'application/json': { schema: ref('GatewayError') } } }
        : {
            description,
            ...(status === '409' ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } } : {}),
            ...(status === '429'
              ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' }, ...rateLimitHeaders } }
              : {}),
            content: { 'application/problem+json': { schema: ref('Problem') } },
          };
  }

  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.public ? {} : { security: [{ bearer: [] }] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? { requestBody: { required: true, content: Object.fromEntries(media.map((m) => [m, { schema: body }])) } }
      : {}),
    responses,
  };
}

function build(): Omit<OpenApiDocument, 'servers'> {
  const components = componentSchemas();
  for (const op of operations) {
    const name = op.body?.mergePatch ? names.get(op.body.schema) : undefined;
    const changes = name && components[name];
    if (name && changes)
      components[patchName(name)] = {
        ...mergePatchOf(changes),
        description: `A merge patch of ${name}.`,
      };
  }
  const paths: OpenApiDocument['paths'] = {};
  for (const op of operations) paths[op.path] = { ...paths[op.path], [op.method.toLowerCase()]: operationObject(op) };
  const header = (description: string, schema: JsonSchema) => ({ description, schema });
  const parameter = (
    name: string,
    where: 'query' | 'header',
    description: string,
    schema: JsonSchema,
  ): ParameterObject => ({ name, in: where, required: false, description, schema });

  return {
    openapi: '3.1.0',
    info: { title: 'Slipway API', version: config.version ?? 'v1', description: INFO },
    tags: tags.map((t) => ({ ...t })),
    paths,
    components: {
      schemas: components,
      parameters: {
        Limit: parameter('limit', 'query', `Page size (default ${DEFAULT_LIMIT}).`, {
          type: 'integer',
          minimum: 1,
          maximum: MAX_LIMIT,
        }),
        Cursor: parameter('cursor', 'query', '`next_cursor` of the previous page of the same list.', {
          type: 'string',
          maxLength: MAX_CURSOR_LENGTH,
          pattern: CURSOR_PATTERN,
        }),
        IfMatch: { ...parameter('If-Match', 'header', 'The ETag you read.', { type: 'string' }), required: true },
        IdempotencyKey: parameter(
          'Idempotency-Key',
          'header',
          `Makes a retry safe: the same key and body replay the first answer for ${IDEMPOTENCY_RETENTION_HOURS} hours.`,
          {
            type: 'string',
            pattern: IDEMPOTENCY_KEY_PATTERN,
          },
        ),
      },
      headers: {
        ETag: header('The version of the resource; send it back in If-Match to change it.', {
          type: 'string',
          examples: ['"v3"'],
        }),
        Location: header('URL path of the new resource.', { type: 'string' }),
        IdempotentReplayed: header(
          '`true` when this is the stored answer to an earlier request with the same Idempotency-Key.',
          { const: 'true' },
        ),
        RetryAfter: header('Seconds to wait before retrying.', { type: 'string' }),
        RateLimit: header(
          'What is left of each quota this request counted against, and seconds until it resets (draft-ietf-httpapi-ratelimit-headers).',
          { type: 'string', examples: ['"writes";r=57;t=17', '"writes";r=57;t=17, "deploys";r=0;t=17'] },
        ),
        RateLimitPolicy: header(
          'The quotas this request counted against: requests (`q`) per window of seconds (`w`).',
          {
            type: 'string',
            examples: ['"writes";q=60;w=60', '"writes";q=60;w=60, "deploys";q=10;w=60'],
          },
        ),
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from the organisation OIDC provider.',
        },
      },
    },
  };
}

let built: Omit<OpenApiDocument, 'servers'> | undefined;

/**
 * Built on first use and kept for the life of the container. `servers` is the configured public
 * URL, or `/` (this origin) without one: never the request's Host, which the client chooses.
 */
export function openApiDocument(): OpenApiDocument {
  built ??= build();
  return { ...built, servers: [{ url: config.publicUrl ?? '/' }] };
}
