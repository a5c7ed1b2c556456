import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch, passesFilters } from '../../../shared/domain/glob.ts';

describe('glob', () => {
  it.each([
    ['main', 'main', true],
    ['main', 'mainline', false],
    ['release/*', 'release/1.2', true],
    ['release/*', 'release/1.2/hotfix', false],
    ['release/**', 'release/1.2/hotfix', true],
    ['v*', 'v1.2.3', true],
    ['v?.?', 'v1.2', true],
    ['v?.?', 'v1.22', false],
    ['feature/[a-c]*', 'feature/b-thing', true],
    ['feature/[a-c]*', 'feature/d-thing', false],
    ['feature/[!a-c]*', 'feature/d-thing', true],
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/deep/er/a.ts', true],
    ['src/**/*.ts', 'src/deep/er/a.js', false],
    ['**', 'anything/at/all', true],
    ['*', 'a/b', false],
    ['docs/\\*', 'docs/*', true],
    ['docs/\\*', 'docs/x', false],
  ])('%s against %s is %s', (pattern, name, expected) => {
    expect(globMatch(pattern, name)).toBe(expected);
  });

  it('matches a literal pattern exactly what it says, whatever the characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._/-]{1,40}$/), (name) => {
        expect(globMatch(name, name)).toBe(true);
        expect(globMatch(name, `${name}x`)).toBe(false);
      }),
    );
  });

  it('answers a hostile pattern against a long name in bounded time (no backtracking)', () => {
    const pattern = `${'*a'.repeat(100)}b`;
    const name = 'a'.repeat(4000);
    expect(globMatch(pattern, name)).toBe(false);
  });
});

describe('filter lists', () => {
  it('lets the last matching pattern decide, and an empty list lets everything through', () => {
    expect(passesFilters([], 'anything')).toBe(true);
    expect(passesFilters(['src/**', '!src/docs/**'], 'src/app.ts')).toBe(true);
    expect(passesFilters(['src/**', '!src/docs/**'], 'src/docs/readme.md')).toBe(false);
    expect(passesFilters(['src/**', '!src/docs/**', 'src/docs/api.md'], 'src/docs/api.md')).toBe(true);
    expect(passesFilters(['src/**'], 'README.md')).toBe(false);
  });

  it('treats a list of exclusions alone as "everything but"', () => {
    expect(passesFilters(['!docs/**'], 'src/a.ts')).toBe(true);
    expect(passesFilters(['!docs/**'], 'docs/a.md')).toBe(false);
  });
});
