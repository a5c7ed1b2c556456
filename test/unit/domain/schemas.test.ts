import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import { newApp } from '../../../shared/domain/app.ts';
import { newCluster } from '../../../shared/domain/cluster.ts';
import { newEnv } from '../../../shared/domain/environment.ts';
import { newBinding, newTeam } from '../../../shared/domain/identity.ts';
import { newProject } from '../../../shared/domain/project.ts';
import { validate } from '../../../shared/domain/validate.ts';
import { type Problem, toProblem } from '../../../shared/http/problem.ts';

const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const valid = {
  project: { name: 'shop', display_name: 'Shop', labels: { team: 'payments' } },
  app: {
    project_id: 'prj_01jd0000000000000000000000',
    name: 'api',
    repository: { provider: 'github', url: 'https://github.com/acme/api', default_branch: 'main' },
    deploy: { kind: 'helm', path: 'charts/api' },
    image_repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api',
  },
  env: { name: 'prod', cluster_id: 'cls_01jd0000000000000000000000', namespace: 'shop-prod' },
  cluster: {
    name: 'prod-eu',
    region: 'eu-west-1',
    api_server_url: 'https://abc.gr7.eu-west-1.eks.amazonaws.com',
    ca_data: ca,
    auth: { mode: 'eks-iam', role_arn: 'arn:aws:iam::123456789012:role/slipway-deployer', eks_cluster_name: 'prod-eu' },
  },
  team: { name: 'payments' },
  binding: {
    role: 'developer',
    subject: { kind: 'team', id: 'team_01jd0000000000000000000000' },
    scope: { kind: 'project', project_id: 'prj_01jd0000000000000000000000' },
  },
};

const schemas: [string, z.ZodMiniType, Record<string, unknown>][] = [
  ['project', newProject, valid.project],
  ['app', newApp, valid.app],
  ['env', newEnv, valid.env],
  ['cluster', newCluster, valid.cluster],
  ['team', newTeam, valid.team],
  ['binding', newBinding, valid.binding],
];

describe.each(schemas)('%s schema', (_name, schema, example) => {
  it('accepts the documented example', () => {
    expect(validate(schema, example)).toEqual(example);
  });

  it('refuses unknown fields, naming them', () => {
    const error = catchProblem(() => validate(schema, { ...example, surprise: 1 }));
    expect(error.status).toBe(400);
    expect(JSON.stringify(error.extensions.invalid_params)).toContain('surprise');
  });

  it('answers any input with a value or a 400 problem, never a crash', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.record({ name: fc.string(), project_id: fc.string(), auth: fc.jsonValue() })),
        (input) => {
          try {
            validate(schema, input);
          } catch (error) {
            expect(toProblem(error)?.status).toBe(400);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('field rules', () => {
  it.each([
    ['name not a DNS label', newProject, { name: 'Shop_1' }],
    ['name too long', newProject, { name: 'a'.repeat(64) }],
    [
      'http repository URL',
      newApp,
      { ...valid.app, repository: { ...valid.app.repository, url: 'http://github.com/a/b' } },
    ],
    [
      'URL with credentials',
      newApp,
      { ...valid.app, repository: { ...valid.app.repository, url: 'https://u:p@github.com/a/b' } },
    ],
    ['branch with ..', newApp, { ...valid.app, repository: { ...valid.app.repository, default_branch: 'a..b' } }],
    ['image with tag', newApp, { ...valid.app, image_repository: 'ghcr.io/acme/api:1.0' }],
    ['chart path escaping the repo', newApp, { ...valid.app, deploy: { kind: 'helm', path: '../x' } }],
    ['CA that is not a certificate', newCluster, { ...valid.cluster, ca_data: 'aGVsbG8=' }],
    [
      'token auth without a secret ARN',
      newCluster,
      { ...valid.cluster, auth: { mode: 'token', token_secret_arn: 'plain-token' } },
    ],
    [
      '21 labels',
      newProject,
      { name: 'a', labels: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) },
    ],
    ['unknown role', newBinding, { ...valid.binding, role: 'owner' }],
  ])('refuses %s', (_case, schema, body) => {
    expect(catchProblem(() => validate(schema as z.ZodMiniType, body)).status).toBe(400);
  });
});

function catchProblem(fn: () => unknown): Problem {
  try {
    fn();
  } catch (error) {
    const problem = toProblem(error);
    if (problem) return problem;
    throw error;
  }
  throw new Error('expected a problem');
}
