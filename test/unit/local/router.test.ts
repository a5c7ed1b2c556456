import { describe, expect, it } from 'vitest';
import { createRouter, decodeLenient } from '../../../infra/local/router.ts';
import { routes } from '../../../infra/manifest.ts';

const r = (method: string, path: string) => ({ method, path });

describe('route selection', () => {
  const route = createRouter([
    r('GET', '/api/v1/users'),
    r('GET', '/api/v1/users/me'),
    r('GET', '/api/v1/users/{id}'),
    r('GET', '/api/v1/teams/{id}/members/{userId}'),
    r('GET', '/files/{path+}'),
    r('ANY', '/files/{path+}'),
    r('ANY', '/files/readme'),
  ]);

  it('matches templates and decodes path parameters', () => {
    expect(route('GET', '/api/v1/teams/t%201/members/u%2F2')).toEqual({
      route: r('GET', '/api/v1/teams/{id}/members/{userId}'),
      routeKey: 'GET /api/v1/teams/{id}/members/{userId}',
      pathParameters: { id: 't 1', userId: 'u/2' },
    });
  });

  it('has no pathParameters for a template without parameters', () => {
    expect(route('GET', '/api/v1/users')?.pathParameters).toBeUndefined();
  });

  it('prefers a literal segment over a parameter', () => {
    expect(route('GET', '/api/v1/users/me')?.routeKey).toBe('GET /api/v1/users/me');
    expect(route('GET', '/api/v1/users/alice')?.routeKey).toBe('GET /api/v1/users/{id}');
  });

  it('lets a greedy parameter take the rest of the path, after literals and exact methods', () => {
    expect(route('GET', '/files/a/b/c')).toMatchObject({
      routeKey: 'GET /files/{path+}',
      pathParameters: { path: 'a/b/c' },
    });
    expect(route('DELETE', '/files/a/b')?.routeKey).toBe('ANY /files/{path+}');
    expect(route('GET', '/files/readme')?.routeKey).toBe('ANY /files/readme');
    expect(route('GET', '/files')).toBeUndefined();
  });

  it('finds nothing for another method, a longer or shorter path, an empty segment', () => {
    expect(route('POST', '/api/v1/users')).toBeUndefined();
    expect(route('GET', '/api/v1/users/me/more')).toBeUndefined();
    expect(route('GET', '/api/v1')).toBeUndefined();
    expect(route('GET', '/api/v1/users/')).toBeUndefined();
  });

  it('routes every manifest route to itself', () => {
    const manifest = createRouter(routes);
    for (const spec of routes) {
      const path = spec.path.replace(/\{[^}]+\}/g, 'x1');
      expect(manifest(spec.method, path)?.route).toBe(spec);
    }
  });

  it('refuses a greedy parameter that is not last', () => {
    expect(() => createRouter([r('GET', '/a/{rest+}/b')])).toThrow(/last/);
  });
});

describe('lenient decoding', () => {
  it('decodes valid escapes and keeps the rest as sent', () => {
    expect(decodeLenient('caf%C3%A9%20%zz%E2%82')).toBe('café %zz%E2%82');
  });
});
