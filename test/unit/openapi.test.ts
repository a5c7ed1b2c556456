import { createHash } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod/mini';
import { handler } from '../../functions/meta/handler.ts';
import { type RouteSpec, routeKey, routes } from '../../infra/manifest.ts';
import type { CheckpointRequest, CheckpointView } from '../../shared/audit/checkpoints.ts';
import type { ChainReport } from '../../shared/audit/queries.ts';
import type { Role } from '../../shared/auth/roles.ts';
import type { AppView } from '../../shared/catalog/apps.ts';
import { type ClusterView, clusterView } from '../../shared/catalog/clusters.ts';
import type { EnvironmentRow } from '../../shared/catalog/environment-overview.ts';
import type { EnvView, getEnv } from '../../shared/catalog/environments.ts';
import type { ProjectView } from '../../shared/catalog/projects.ts';
import type { ApprovalView } from '../../shared/delivery/approvals.ts';
import type { deploymentStatus } from '../../shared/delivery/deployments.ts';
import { DEPLOYMENT_STATES, type DeploymentView } from '../../shared/delivery/model.ts';
import type { Release } from '../../shared/delivery/releases.ts';
import type { PipelineView } from '../../shared/domain/pipeline.ts';
import { newProject } from '../../shared/domain/project.ts';
import { RUN_STATES, type RunView } from '../../shared/domain/run.ts';
import * as errors from '../../shared/errors.ts';
import { validateIdempotencyKey } from '../../shared/http/idempotency-key.ts';
import { MAX_BODY_BYTES } from '../../shared/http/kernel.ts';
import {
  type JsonSchema,
  MAX_BODY_KIB,
  type OpenApiDocument,
  openApiDocument,
} from '../../shared/http/openapi/document.ts';
import { operations } from '../../shared/http/openapi/operations.ts';
import { renderDocs } from '../../shared/http/openapi/render.ts';
import * as views from '../../shared/http/openapi/views.ts';
import * as problems from '../../shared/http/problem.ts';
import type { BindingView } from '../../shared/iam/bindings.ts';
import type { MemberView, TeamView } from '../../shared/iam/teams.ts';
import type { me, UserView } from '../../shared/iam/users.ts';
import { Meter, rateLimited, writesPerUser } from '../../shared/quotas/meter.ts';
import { present, stamp } from '../../shared/store/records.ts';

const doc = openApiDocument();
const docOperations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
);
const html = renderDocs(doc);
const route = (key: string): RouteSpec | undefined => routes.find((r) => routeKey(r) === key);

/** Every sub-schema, depth first. */
function* walk(schema: unknown): Generator<JsonSchema> {
  if (Array.isArray(schema)) for (const s of schema) yield* walk(s);
  else if (schema && typeof schema === 'object') {
    yield schema as JsonSchema;
    for (const value of Object.values(schema)) yield* walk(value);
  }
}

describe('operations match the manifest', () => {
  it.each(routes.map(routeKey))('%s has exactly one operation', (key) => {
    expect(operations.filter((op) => `${op.method} ${op.path}` === key)).toHaveLength(1);
  });

  it.each(operations.map((op) => `${op.method} ${op.path}`))('%s is a manifest route, as public as there', (key) => {
    const declared = route(key);
    expect(declared).toBeDefined();
    expect(operations.find((op) => `${op.method} ${op.path}` === key)?.public ?? false).toBe(declared?.public ?? false);
  });

  it('gives every operation its own operationId', () => {
    expect(new Set(operations.map((op) => op.operationId)).size).toBe(operations.length);
  });
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has a target for every $ref', () => {
    const refs = [...walk(doc)].map((node) => node.$ref).filter((ref): ref is string => typeof ref === 'string');
    expect(refs.length).toBeGreaterThan(100);
    for (const ref of new Set(refs)) {
      const [, kind, name] = ref.split('/').slice(1);
      expect(doc.components[kind as keyof OpenApiDocument['components']], ref).toHaveProperty(name as string);
    }
  });

  it('requires a bearer token on every non-public operation, and on no public one', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    for (const { key, op } of docOperations) {
      expect(op.security, key).toEqual(route(key)?.public ? undefined : [{ bearer: [] }]);
      // A public route answers 401 only when its own authentication (a webhook or chat signature) says so.
      expect(op.responses['401'] !== undefined, key).toBe(
        !route(key)?.public || key.startsWith('POST /api/v1/hooks/') || key.includes(' /api/v1/chat/'),
      );
    }
  });

  it('refuses unknown fields in every request body, nested ones included', () => {
    const bodies = docOperations.flatMap(({ op }) => Object.values(op.requestBody?.content ?? {}));
    expect(bodies.length).toBeGreaterThan(10);
    for (const { schema } of bodies) {
      const name = schema.$ref?.split('/').at(-1) ?? '';
      const objects = [...walk(doc.components.schemas[name])].filter((s) => s.type === 'object' && s.properties);
      expect(objects.length, name).toBeGreaterThan(0);
      for (const object of objects) expect(object.additionalProperties, name).toBe(false);
    }
    expect(newProject.safeParse({ name: 'shop', owner: 'me' }).success).toBe(false);
  });

  it('asks for Idempotency-Key on every POST: a create answers 201 with Location and ETag, a start 202 with Location', () => {
    const counted = ['RateLimit', 'RateLimit-Policy'];
    const headersOf: Record<string, string[]> = {
      '200': ['Idempotent-Replayed', ...counted],
      '201': ['ETag', 'Location', 'Idempotent-Replayed', ...counted],
      '202': ['Location', 'Idempotent-Replayed', ...counted],
    };
    // Public POSTs (Git deliveries) are deduplicated by the provider's own delivery ids instead.
    for (const { key, op } of docOperations.filter(({ key }) => key.startsWith('POST ') && !route(key)?.public)) {
      expect(op.parameters, key).toContainEqual({ $ref: '#/components/parameters/IdempotencyKey' });
      const [success, ...others] = Object.keys(op.responses).filter((status) => Number(status) < 300);
      expect(others, key).toEqual([]);
      expect(Object.keys(op.responses[success ?? '']?.headers ?? {}), key).toEqual(headersOf[success ?? '']);
      expect(Object.keys(op.responses), key).toEqual(expect.arrayContaining(['409', '422']));
    }
  });

  it('asks for If-Match on changes to projects, apps, envs, clusters, teams, pipelines, schedules, freezes and channels, and nowhere else', () => {
    const versioned =
      /^(PUT|PATCH|DELETE) \/api\/v1\/(projects|apps|clusters|teams|pipelines|schedules|freezes)\/\{id\}(\/envs\/\{env\}|\/channels\/\{channel_id\})?$/;
    for (const { key, op } of docOperations) {
      const ifMatch = op.parameters?.some((p) => '$ref' in p && p.$ref.endsWith('/IfMatch')) ?? false;
      expect(ifMatch, key).toBe(versioned.test(key));
      expect(op.responses['412'] !== undefined && op.responses['428'] !== undefined, key).toBe(ifMatch);
    }
  });

  it('documents the write quota on every write: 429 with Retry-After, and the RateLimit fields on success too', () => {
    for (const { key, op } of docOperations) {
      const write = !key.startsWith('GET ') && op.security !== undefined;
      expect(Object.keys(op.responses).includes('429'), key).toBe(write);
      if (!write) continue;
      expect(Object.keys(op.responses['429']?.headers ?? {}).sort(), key).toEqual([
        'RateLimit',
        'RateLimit-Policy',
        'Retry-After',
      ]);
      for (const [status, response] of Object.entries(op.responses).filter(([s]) => Number(s) < 300))
        expect(Object.keys(response.headers ?? {}), `${key} ${status}`).toContain('RateLimit');
    }
  });

  it('answers every error as problem+json, except the gateway 401', () => {
    for (const { key, op } of docOperations) {
      for (const [status, response] of Object.entries(op.responses).filter(([s]) => Number(s) >= 400)) {
        const media = status === '401' ? 'application/json' : 'application/problem+json';
        expect(Object.keys(response.content ?? {}), `${key} ${status}`).toEqual([media]);
      }
    }
  });

  it('documents a PATCH body as a merge patch: nothing required, optional fields nullable', () => {
    const patch = doc.components.schemas.AppPatch;
    expect(patch?.required).toBeUndefined();
    expect(patch?.properties?.description).toEqual({ anyOf: [{ type: 'string', maxLength: 1000 }, { type: 'null' }] });
    expect((patch?.properties?.repository as JsonSchema | undefined)?.required).toBeUndefined();
  });

  it('states the limits the kernel enforces', () => {
    expect(MAX_BODY_KIB * 1024).toBe(MAX_BODY_BYTES);
    const pattern = new RegExp(doc.components.parameters.IdempotencyKey?.schema.pattern as string);
    for (const key of ['order-42', 'a'.repeat(255), 'a'.repeat(256), 'with space', 'é', '']) {
      expect(pattern.test(key), key).toBe(!throws(() => validateIdempotencyKey(key)));
    }
    expect(doc.components.schemas.NewProject?.properties?.labels).toMatchObject({ maxProperties: 20 });
  });
});

describe('the response schemas describe what the API answers', () => {
  const caller = { sub: 'alice', name: undefined, email: undefined, groups: [] };

  it('covers every field of the catalog view types', () => {
    expectTypeOf<z.infer<typeof views.project>>().toExtend<ProjectView>();
    expectTypeOf<z.infer<typeof views.app>>().toExtend<AppView>();
    expectTypeOf<z.infer<typeof views.env>>().toExtend<EnvView>();
    expectTypeOf<z.infer<typeof views.envWithRelease>>().toExtend<Awaited<ReturnType<typeof getEnv>>>();
    expectTypeOf<z.infer<typeof views.environmentRow>>().toExtend<EnvironmentRow>();
    expectTypeOf<z.infer<typeof views.cluster>>().toExtend<ClusterView>();
    expectTypeOf<z.infer<typeof views.team>>().toExtend<TeamView>();
    expectTypeOf<z.infer<typeof views.member>>().toExtend<MemberView>();
    expectTypeOf<z.infer<typeof views.binding>>().toExtend<BindingView>();
    expectTypeOf<z.infer<typeof views.user>>().toExtend<UserView>();
    expectTypeOf<z.infer<typeof views.me>>().toExtend<Awaited<ReturnType<typeof me>>>();
    expectTypeOf<z.infer<typeof views.role>>().toExtend<Role>();
    expectTypeOf<z.infer<typeof views.deployment>>().toExtend<DeploymentView>();
    expectTypeOf<z.infer<typeof views.deploymentStatus>>().toExtend<Awaited<ReturnType<typeof deploymentStatus>>>();
    expectTypeOf<z.infer<typeof views.release>>().toExtend<Release>();
    expectTypeOf<z.infer<typeof views.approval>>().toExtend<ApprovalView>();
    expectTypeOf<z.infer<typeof views.chainReport>>().toExtend<ChainReport>();
    expectTypeOf<z.infer<typeof views.checkpoint>>().toExtend<CheckpointView>();
    expectTypeOf<z.infer<typeof views.checkpointRequest>>().toExtend<CheckpointRequest>();
    expect(views.deploymentState.options).toEqual(DEPLOYMENT_STATES);
    expectTypeOf<z.infer<typeof views.pipeline>>().toExtend<PipelineView>();
    expectTypeOf<z.infer<typeof views.run>>().toExtend<RunView>();
    expect(views.runState.options).toEqual(RUN_STATES);
  });

  it('publishes the pipeline definition, taken as JSON or YAML', () => {
    expect(doc.components.schemas.PipelineDefinition?.properties).toHaveProperty('stages');
    expect(doc.components.schemas.PipelineDefinitionPatch?.required).toBeUndefined();
    for (const key of ['post', 'put'] as const) {
      const content =
        doc.paths[key === 'post' ? '/api/v1/pipelines' : '/api/v1/pipelines/{id}']?.[key]?.requestBody?.content;
      expect(Object.keys(content ?? {})).toEqual(['application/json', 'application/yaml']);
    }
  });

  it('matches a presented project', () => {
    const item = stamp('prj_01jf3x5y7z9abcdefghjkmnpqr', caller, { name: 'shop', labels: { tier: 'web' } });
    expect(views.project.safeParse(present({ PK: 'x', SK: 'y', _apps: 0, ...item })).error).toBeUndefined();
  });

  it('matches a token cluster, whose secret reference never shows', () => {
    const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kube-token';
    const item = stamp('cls_01jf3x5y7z9abcdefghjkmnpqr', caller, {
      name: 'prod-eu',
      region: 'eu-west-1',
      api_server_url: 'https://k8s.example.com',
      ca_data: Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64'),
      auth: { mode: 'token', token_secret_arn: secret },
    });
    const view = clusterView(item);
    expect(views.cluster.safeParse(view).error).toBeUndefined();
    expect(JSON.stringify(view)).not.toContain(secret);
  });

  it('matches every problem the API answers', () => {
    const all = [
      errors.invalid('bad', [{ name: 'name', reason: 'too long' }]),
      errors.notFound('Project'),
      errors.conflict('name-taken', 'taken'),
      errors.staleVersion(),
      errors.busy('concurrent-modification', 'retry'),
      errors.storeUnavailable(),
      problems.payloadTooLarge(MAX_BODY_BYTES),
      problems.unsupportedMediaType('application/json'),
      errors.preconditionRequired(),
      rateLimited(new Meter(writesPerUser, 'alice')),
      problems.internalError(),
    ].map((error) => problems.toProblem(error) as problems.Problem);
    for (const problem of all)
      expect(views.problem.safeParse(problems.problemBody(problem, 'req-1')).error).toBeUndefined();
  });
});

describe('the docs page', () => {
  it('shows every operation', () => {
    for (const op of operations) {
      expect(html).toContain(`<code>${op.path.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</code>`);
      expect(html).toContain(`id="op-${op.operationId}"`);
    }
  });

  it('is self-contained: no scripts, no external resources', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
  });

  it('escapes text taken from the document', () => {
    const hostile = structuredClone(doc);
    const list = hostile.paths['/api/v1/projects']?.get;
    if (!list) throw new Error('no GET /api/v1/projects');
    list.description = '<script>alert("x")</script>';
    const page = renderDocs(hostile);
    expect(page).not.toContain('<script');
    expect(page).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
  });
});

describe('the meta function', () => {
  const context = {
    functionName: 'slipway-meta',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:slipway-meta',
    memoryLimitInMB: '256',
    awsRequestId: 'aws-req-1',
    getRemainingTimeInMillis: () => 5000,
  } as unknown as Context;

  const call = async (key: string, headers: Record<string, string> = {}) => {
    const [method, path] = key.split(' ') as [string, string];
    const event = {
      version: '2.0',
      routeKey: key,
      rawPath: path,
      rawQueryString: '',
      headers: { host: 'api.slipway.example', ...headers },
      requestContext: { requestId: 'req-1', routeKey: key, http: { method, path } },
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    return (await handler(event, context)) as APIGatewayProxyStructuredResultV2 & {
      headers: Record<string, string>;
      body: string;
    };
  };

  it('answers health', async () => {
    const result = await call('GET /api/v1/health');
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ status: 'ok', service: 'slipway' });
  });

  it('names the configured public URL as its server, or this origin, never the Host the request claims', async () => {
    const before = process.env.SLIPWAY_PUBLIC_URL;
    try {
      delete process.env.SLIPWAY_PUBLIC_URL;
      const plain = await call('GET /api/v1/openapi.json');
      expect(plain.statusCode).toBe(200);
      expect(plain.headers['content-type']).toBe('application/json');
      expect(JSON.parse(plain.body)).toMatchObject({ openapi: '3.1.0', servers: [{ url: '/' }] });

      process.env.SLIPWAY_PUBLIC_URL = 'https://deploy.example.test';
      for (const host of ['evil.example', 'evil.example:443', 'localhost:3000']) {
        const forged = await call('GET /api/v1/openapi.json', { host, 'x-forwarded-host': host });
        expect(JSON.parse(forged.body).servers).toEqual([{ url: 'https://deploy.example.test' }]);
        expect(forged.body).not.toContain('evil.example');
      }
    } finally {
      if (before === undefined) delete process.env.SLIPWAY_PUBLIC_URL;
      else process.env.SLIPWAY_PUBLIC_URL = before;
    }
  });

  it('serves the docs page as HTML that may run no script', async () => {
    const result = await call('GET /docs');
    expect(result.statusCode).toBe(200);
    expect(result.headers['content-type']).toBe('text/html; charset=utf-8');
    const style = /<style>([^<]*)<\/style>/.exec(result.body)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    expect(result.headers['content-security-policy']).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; frame-ancestors 'none'`,
    );
    expect(result.body).toBe(html);
  });

  it('answers an unknown route with problem+json 404', async () => {
    const result = await call('GET /api/v1/nothing');
    expect(result.statusCode).toBe(404);
    expect(result.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(result.body)).toMatchObject({ status: 404, instance: 'req-1' });
  });
});

function throws(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}
