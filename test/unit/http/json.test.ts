import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../shared/audit/canonical.ts';
import { mergePatch } from '../../../shared/domain/merge-patch.ts';
import { MAX_JSON_DEPTH, parseJsonBody, RESERVED_JSON_KEYS } from '../../../shared/http/json.ts';
import { openApiDocument } from '../../../shared/http/openapi/document.ts';
import { Problem } from '../../../shared/http/problem.ts';

const nested = (depth: number, open = '{"a":', close = '}') => `${open.repeat(depth)}1${close.repeat(depth)}`;

const problemOf = (text: string): Problem | undefined => {
  try {
    parseJsonBody(text);
    return undefined;
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
};

/** How deep a value nests: a scalar is 0, `{}` and `[]` are 1. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

const hasReservedKey = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  Object.entries(value).some(([k, v]) => RESERVED_JSON_KEYS.includes(k) || hasReservedKey(v));

describe('JSON bodies', () => {
  it(`accept ${MAX_JSON_DEPTH} levels and refuse one more, objects or arrays alike`, () => {
    expect(parseJsonBody(nested(MAX_JSON_DEPTH))).toBeTypeOf('object');
    expect(parseJsonBody(nested(MAX_JSON_DEPTH, '[', ']'))).toBeInstanceOf(Array);
    for (const text of [nested(MAX_JSON_DEPTH + 1), nested(MAX_JSON_DEPTH + 1, '[', ']'), nested(200_000, '[', ']')]) {
      expect(problemOf(text)?.type).toBe('https://slipway.dev/problems/json-too-deep');
    }
  });

  it('refuse __proto__, constructor and prototype as keys at any depth, naming where', () => {
    for (const key of RESERVED_JSON_KEYS) {
      expect(problemOf(`{"${key}":{}}`)?.extensions).toEqual({
        invalid_params: [{ name: key, reason: 'reserved key' }],
      });
      expect(problemOf(`{"a":[{"b":{"${key}":1}}]}`)?.extensions).toEqual({
        invalid_params: [{ name: `a[0].b.${key}`, reason: 'reserved key' }],
      });
    }
    // Only as keys: as values they are plain text.
    expect(parseJsonBody('{"description":"__proto__ constructor prototype"}')).toBeTypeOf('object');
  });

  it('refuse malformed JSON as before', () => {
    expect(problemOf('{"a":')?.type).toBe('https://slipway.dev/problems/malformed-json');
  });

  it('accept every request body the API documents (no schema nests near the limit)', () => {
    const schemas = Object.values(openApiDocument().components?.schemas ?? {});
    const depthOfSchema = (schema: unknown): number => {
      if (typeof schema !== 'object' || schema === null) return 0;
      const s = schema as Record<string, unknown>;
      const children = [
        ...Object.values((s.properties as object) ?? {}),
        ...(s.items ? [s.items] : []),
        ...(typeof s.additionalProperties === 'object' ? [s.additionalProperties] : []),
        ...((s.anyOf as unknown[]) ?? []),
        ...((s.oneOf as unknown[]) ?? []),
      ];
      const own = s.type === 'object' || s.type === 'array' ? 1 : 0;
      return own + Math.max(0, ...children.map(depthOfSchema));
    };
    expect(Math.max(...schemas.map(depthOfSchema))).toBeLessThan(MAX_JSON_DEPTH / 2);
  });

  it('parse any JSON value into what JSON.parse gives, or refuse it with a 400 for its depth or keys', () => {
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(...RESERVED_JSON_KEYS));
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(key, tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    const deep = fc.tuple(json, fc.integer({ min: 1, max: 40 }), fc.boolean()).map(([inner, depth, arrays]) =>
      // A function, not a string: a replacement string would read `$'` or `$&` in the JSON as patterns.
      JSON.parse(nested(depth, arrays ? '[' : '{"x":', arrays ? ']' : '}').replace('1', () => JSON.stringify(inner))),
    );
    fc.assert(
      fc.property(fc.oneof(json, deep), (value) => {
        const text = JSON.stringify(value);
        const parsed = JSON.parse(text);
        const problem = problemOf(text);
        if (depthOf(parsed) > MAX_JSON_DEPTH) expect(problem?.status).toBe(400);
        else if (hasReservedKey(parsed)) expect(problem?.type).toBe('https://slipway.dev/problems/reserved-json-key');
        else {
          expect(problem).toBeUndefined();
          // What passed can be walked recursively: merged and canonicalized without overflow.
          expect(canonicalJson(mergePatch({}, { body: parsed }))).toBeTypeOf('string');
        }
      }),
      { numRuns: 300 },
    );
  });
});
