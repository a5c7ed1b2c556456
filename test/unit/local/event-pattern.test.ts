import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AwsServiceError } from '../../../infra/local/aws-endpoint.ts';
import { matches, validatePattern } from '../../../infra/local/eventbridge/pattern.ts';

type Case = [name: string, pattern: object, event: unknown, expected: boolean];

const cases: Case[] = [
  // Exact values, AND across fields, OR across values
  ['string equal', { source: ['slipway.catalog'] }, { source: 'slipway.catalog' }, true],
  ['string differs', { source: ['slipway.catalog'] }, { source: 'slipway.iam' }, false],
  ['string is case-sensitive', { source: ['slipway'] }, { source: 'Slipway' }, false],
  ['one of several values', { state: ['a', 'b'] }, { state: 'b' }, true],
  ['none of several values', { state: ['a', 'b'] }, { state: 'c' }, false],
  ['every field must match', { a: ['1'], b: ['2'] }, { a: '1', b: '3' }, false],
  ['every field matches', { a: ['1'], b: ['2'] }, { a: '1', b: '2', c: 'x' }, true],
  ['missing field', { a: ['1'] }, { b: '1' }, false],
  ['empty string', { name: [''] }, { name: '' }, true],
  ['empty string is not missing', { name: [''] }, {}, false],
  ['number equal', { n: [5] }, { n: 5 }, true],
  ['5 equals 5.0', { n: [5.0] }, JSON.parse('{"n": 5.0}'), true],
  ['5 equals 5e0', { n: [5] }, JSON.parse('{"n": 5e0}'), true],
  ['number differs', { n: [5] }, { n: 6 }, false],
  ['number is not its string', { n: [5] }, { n: '5' }, false],
  ['string is not a number', { n: ['5'] }, { n: 5 }, false],
  ['boolean', { ok: [true] }, { ok: true }, true],
  ['boolean differs', { ok: [true] }, { ok: false }, false],
  ['boolean is not its string', { ok: [true] }, { ok: 'true' }, false],
  ['null', { user: [null] }, { user: null }, true],
  ['null is not missing', { user: [null] }, {}, false],
  ['null is not empty string', { user: [null] }, { user: '' }, false],
  // Nested fields
  ['nested', { detail: { state: ['running'] } }, { detail: { state: 'running' } }, true],
  ['nested differs', { detail: { state: ['running'] } }, { detail: { state: 'stopped' } }, false],
  ['nested missing parent', { detail: { state: ['running'] } }, { state: 'running' }, false],
  ['deeply nested', { a: { b: { c: [1] } } }, { a: { b: { c: 1 } } }, true],
  ['leaf pattern on an object value', { detail: ['x'] }, { detail: { x: 1 } }, false],
  // Arrays in the event
  ['array: any element', { resources: ['arn:b'] }, { resources: ['arn:a', 'arn:b'] }, true],
  ['array: no element', { resources: ['arn:c'] }, { resources: ['arn:a', 'arn:b'] }, false],
  ['nested arrays are flattened', { n: [3] }, { n: [[1, 2], [3]] }, true],
  ['empty event array', { resources: ['arn:a'] }, { resources: [] }, false],
  ['array of objects', { emp: { first: ['Anna'] } }, { emp: [{ first: 'John' }, { first: 'Anna' }] }, true],
  [
    'array of objects: fields from one element',
    { emp: { first: ['Anna'], last: ['Smith'] } },
    {
      emp: [
        { first: 'John', last: 'Doe' },
        { first: 'Anna', last: 'Smith' },
      ],
    },
    true,
  ],
  [
    'array of objects: fields from two elements do not combine',
    { emp: { first: ['Anna'], last: ['Jones'] } },
    {
      emp: [
        { first: 'Anna', last: 'Smith' },
        { first: 'Peter', last: 'Jones' },
      ],
    },
    false,
  ],
  // prefix
  ['prefix', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' }, true],
  ['prefix no', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T18:43:48Z' }, false],
  ['prefix only on strings', { n: [{ prefix: '1' }] }, { n: 12 }, false],
  ['prefix is case-sensitive', { s: [{ prefix: 'ab' }] }, { s: 'ABC' }, false],
  ['prefix ignore case', { s: [{ prefix: { 'equals-ignore-case': 'eventB' } }] }, { s: 'EVENTBRIDGE' }, true],
  ['prefix ignore case no', { s: [{ prefix: { 'equals-ignore-case': 'eventB' } }] }, { s: 'bridge' }, false],
  ['prefix in an array', { r: [{ prefix: 'arn:' }] }, { r: ['x', 'arn:y'] }, true],
  // suffix
  ['suffix', { file: [{ suffix: '.png' }] }, { file: 'a.png' }, true],
  ['suffix no', { file: [{ suffix: '.png' }] }, { file: 'a.jpg' }, false],
  ['suffix only on strings', { n: [{ suffix: '5' }] }, { n: 5 }, false],
  ['suffix ignore case', { s: [{ suffix: { 'equals-ignore-case': 'tBridge' } }] }, { s: 'EVENTBRIDGE' }, true],
  ['suffix ignore case no', { s: [{ suffix: { 'equals-ignore-case': 'tBridge' } }] }, { s: 'eventbus' }, false],
  // equals-ignore-case
  ['equals-ignore-case', { name: [{ 'equals-ignore-case': 'alice' }] }, { name: 'ALICE' }, true],
  ['equals-ignore-case no', { name: [{ 'equals-ignore-case': 'alice' }] }, { name: 'alicia' }, false],
  ['equals-ignore-case only on strings', { b: [{ 'equals-ignore-case': 'true' }] }, { b: true }, false],
  // wildcard
  ['wildcard', { src: [{ wildcard: 'Simple*Service' }] }, { src: 'SimpleQueueService' }, true],
  ['wildcard matches empty run', { src: [{ wildcard: 'Simple*Service' }] }, { src: 'SimpleService' }, true],
  ['wildcard no', { src: [{ wildcard: 'Simple*Service' }] }, { src: 'SimpleQueue' }, false],
  ['wildcard several stars', { p: [{ wildcard: 'dir/*/*.png' }] }, { p: 'dir/a/b.png' }, true],
  ['wildcard is anchored', { p: [{ wildcard: 'a*' }] }, { p: 'ba' }, false],
  ['wildcard escaped star', { p: [{ wildcard: 'a\\*b' }] }, { p: 'a*b' }, true],
  ['wildcard escaped star is literal', { p: [{ wildcard: 'a\\*b' }] }, { p: 'axxb' }, false],
  ['wildcard escaped backslash', { p: [{ wildcard: 'a\\\\*' }] }, { p: 'a\\bc' }, true],
  ['wildcard regex characters are literal', { p: [{ wildcard: 'a.b*' }] }, { p: 'axb' }, false],
  ['wildcard only on strings', { n: [{ wildcard: '1*' }] }, { n: 12 }, false],
  // anything-but
  ['anything-but string', { state: [{ 'anything-but': 'init' }] }, { state: 'running' }, true],
  ['anything-but string no', { state: [{ 'anything-but': 'init' }] }, { state: 'init' }, false],
  ['anything-but needs the field', { state: [{ 'anything-but': 'init' }] }, {}, false],
  ['anything-but number', { n: [{ 'anything-but': 123 }] }, { n: 124 }, true],
  ['anything-but number no (123.0)', { n: [{ 'anything-but': 123 }] }, JSON.parse('{"n": 123.0}'), false],
  ['anything-but list', { s: [{ 'anything-but': ['stopped', 'overloaded'] }] }, { s: 'running' }, true],
  ['anything-but list no', { s: [{ 'anything-but': ['stopped', 'overloaded'] }] }, { s: 'stopped' }, false],
  ['anything-but number list', { n: [{ 'anything-but': [100, 200] }] }, { n: 150 }, true],
  ['anything-but number list no', { n: [{ 'anything-but': [100, 200] }] }, { n: 200 }, false],
  ['anything-but array: one element not excluded', { n: [{ 'anything-but': [100, 500] }] }, { n: [100, 50] }, true],
  ['anything-but array: all excluded', { n: [{ 'anything-but': [100, 500] }] }, { n: [100, 500] }, false],
  ['anything-but prefix', { s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 'running' }, true],
  ['anything-but prefix no', { s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 'initializing' }, false],
  ['anything-but suffix', { f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.jpg' }, true],
  ['anything-but suffix no', { f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.png' }, false],
  ['anything-but wildcard', { f: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { f: '/usr/bin/x' }, true],
  ['anything-but wildcard no', { f: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { f: '/usr/lib/x' }, false],
  ['anything-but ignore case', { s: [{ 'anything-but': { 'equals-ignore-case': 'init' } }] }, { s: 'run' }, true],
  ['anything-but ignore case no', { s: [{ 'anything-but': { 'equals-ignore-case': 'init' } }] }, { s: 'INIT' }, false],
  [
    'anything-but ignore case list no',
    { s: [{ 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] },
    { s: 'B' },
    false,
  ],
  // numeric
  ['numeric range', { c: [{ numeric: ['>', 0, '<=', 5] }] }, { c: 5 }, true],
  ['numeric range low edge excluded', { c: [{ numeric: ['>', 0, '<=', 5] }] }, { c: 0 }, false],
  ['numeric range high', { c: [{ numeric: ['>', 0, '<=', 5] }] }, { c: 5.000001 }, false],
  ['numeric >=', { c: [{ numeric: ['>=', 10] }] }, { c: 10 }, true],
  ['numeric <', { c: [{ numeric: ['<', 10] }] }, { c: 10 }, false],
  ['numeric < negative', { c: [{ numeric: ['<', 0] }] }, { c: -1.5 }, true],
  ['numeric =', { x: [{ numeric: ['=', 301.8] }] }, { x: 3.018e2 }, true],
  ['numeric = no', { x: [{ numeric: ['=', 301.8] }] }, { x: 301.9 }, false],
  ['numeric only on numbers', { c: [{ numeric: ['>', 0] }] }, { c: '5' }, false],
  ['numeric in an array', { c: [{ numeric: ['>', 10] }] }, { c: [1, 20] }, true],
  // exists
  ['exists true', { c: [{ exists: true }] }, { c: 1 }, true],
  ['exists true on null', { c: [{ exists: true }] }, { c: null }, true],
  ['exists true missing', { c: [{ exists: true }] }, { d: 1 }, false],
  ['exists false missing', { c: [{ exists: false }] }, { d: 1 }, true],
  ['exists false present', { c: [{ exists: false }] }, { c: 'x' }, false],
  ['exists false nested, parent missing', { detail: { c: [{ exists: false }] } }, {}, true],
  ['exists is leaf-only: object value', { c: [{ exists: true }] }, { c: { c1: 100 } }, false],
  ['exists false on an object value', { c: [{ exists: false }] }, { c: { c1: 100 } }, true],
  // cidr
  ['cidr v4', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.255' }, true],
  ['cidr v4 no', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.1.0' }, false],
  ['cidr v4 /32', { ip: [{ cidr: '192.168.1.7/32' }] }, { ip: '192.168.1.7' }, true],
  ['cidr v4 /0', { ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '8.8.8.8' }, true],
  ['cidr not an ip', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '10.0.0.x' }, false],
  ['cidr v6', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:1::abcd' }, true],
  ['cidr v6 no', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::1' }, false],
  ['cidr v6 does not match v4', { ip: [{ cidr: '::/0' }] }, { ip: '10.0.0.1' }, false],
  // $or
  ['$or first', { $or: [{ a: ['1'] }, { b: ['2'] }] }, { a: '1' }, true],
  ['$or second', { $or: [{ a: ['1'] }, { b: ['2'] }] }, { b: '2' }, true],
  ['$or neither', { $or: [{ a: ['1'] }, { b: ['2'] }] }, { a: '2', b: '1' }, false],
  ['$or AND its siblings', { s: ['x'], $or: [{ a: ['1'] }, { b: ['2'] }] }, { s: 'y', a: '1' }, false],
  ['$or nested in $or', { $or: [{ a: ['1'] }, { b: ['2'], $or: [{ c: [3] }, { d: [4] }] }] }, { b: '2', d: 4 }, true],
  ['$or inside a nested object', { detail: { $or: [{ a: ['1'] }, { b: ['2'] }] } }, { detail: { b: '2' } }, true],
  ['$or with match types is a field named $or', { $or: [{ prefix: 'a' }, { suffix: 'z' }] }, { $or: 'abc' }, true],
  // Lambda filter criteria over a stream record
  [
    'stream filter: new outbox item',
    { eventName: ['INSERT'], dynamodb: { Keys: { PK: { S: [{ prefix: 'OUTBOX#' }] } } } },
    { eventName: 'INSERT', dynamodb: { Keys: { PK: { S: 'OUTBOX#01J' }, SK: { S: 'EVENT' } } } },
    true,
  ],
  [
    'stream filter: other item',
    { eventName: ['INSERT'], dynamodb: { Keys: { PK: { S: [{ prefix: 'OUTBOX#' }] } } } },
    { eventName: 'INSERT', dynamodb: { Keys: { PK: { S: 'PROJECT#prj_1' }, SK: { S: 'META' } } } },
    false,
  ],
];

describe('event patterns', () => {
  it.each(cases)('%s', (_name, pattern, event, expected) => {
    expect(matches(pattern, event)).toBe(expected);
  });

  it('covers every operator with a positive and a negative case', () => {
    const operators = [
      'prefix',
      'suffix',
      'anything-but',
      'numeric',
      'exists',
      'equals-ignore-case',
      'wildcard',
      'cidr',
      '$or',
    ];
    for (const operator of operators) {
      const outcomes = new Set(cases.filter(([, p]) => JSON.stringify(p).includes(`"${operator}"`)).map((c) => c[3]));
      expect([operator, [...outcomes].sort()]).toEqual([operator, [false, true]]);
    }
  });
});

const invalidPatterns: [string, unknown][] = [
  ['not an object', ['source']],
  ['null', null],
  ['empty object', {}],
  ['empty nested object', { detail: {} }],
  ['a bare value instead of a list', { source: 'slipway' }],
  ['a number instead of a list', { n: 5 }],
  ['empty list', { source: [] }],
  ['nested list', { source: [['a']] }],
  ['unknown match type', { s: [{ contains: 'a' }] }],
  ['two match types in one object', { s: [{ prefix: 'a', suffix: 'b' }] }],
  ['prefix not a string', { s: [{ prefix: 5 }] }],
  ['prefix with an unknown option', { s: [{ prefix: { 'ignore-case': 'a' } }] }],
  ['suffix not a string', { s: [{ suffix: null }] }],
  ['equals-ignore-case not a string', { s: [{ 'equals-ignore-case': ['a'] }] }],
  ['numeric without bound', { n: [{ numeric: ['>'] }] }],
  ['numeric bad operator', { n: [{ numeric: ['!=', 5] }] }],
  ['numeric string bound', { n: [{ numeric: ['>', '5'] }] }],
  ['numeric two lower bounds', { n: [{ numeric: ['>', 1, '>=', 2] }] }],
  ['numeric = with a range', { n: [{ numeric: ['=', 1, '<', 2] }] }],
  ['numeric empty range', { n: [{ numeric: ['>', 5, '<', 5] }] }],
  ['numeric out of range', { n: [{ numeric: ['<', 6e9] }] }],
  ['exists not boolean', { n: [{ exists: 'true' }] }],
  ['anything-but mixed list', { s: [{ 'anything-but': ['a', 1] }] }],
  ['anything-but empty list', { s: [{ 'anything-but': [] }] }],
  ['anything-but boolean', { s: [{ 'anything-but': true }] }],
  ['anything-but numeric', { s: [{ 'anything-but': { numeric: ['>', 1] } }] }],
  ['anything-but prefix not a string', { s: [{ 'anything-but': { prefix: 1 } }] }],
  ['wildcard consecutive stars', { s: [{ wildcard: 'a**b' }] }],
  ['wildcard bad escape', { s: [{ wildcard: 'a\\b' }] }],
  ['wildcard trailing backslash', { s: [{ wildcard: 'a\\' }] }],
  ['cidr without prefix length', { ip: [{ cidr: '10.0.0.1' }] }],
  ['cidr prefix too long', { ip: [{ cidr: '10.0.0.0/33' }] }],
  ['cidr not an address', { ip: [{ cidr: 'ten/8' }] }],
  ['$or with an invalid alternative', { $or: [{ a: ['1'] }, { b: 'x' }] }],
];

describe('invalid event patterns', () => {
  it.each(invalidPatterns)('rejects %s', (_name, pattern) => {
    expect(() => validatePattern(pattern)).toThrow(AwsServiceError);
    try {
      validatePattern(pattern);
    } catch (error) {
      expect((error as AwsServiceError).name).toBe('InvalidEventPatternException');
    }
  });
});

/** An exact-value pattern that `value` (a JSON object) must match, or undefined when nothing in it can be named. */
function exactPatternOf(value: Record<string, unknown>): Record<string, unknown> | undefined {
  const pattern: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const scalars = Array.isArray(field) ? field.flat(Infinity) : [field];
    const object = scalars.find((v) => typeof v === 'object' && v !== null) as Record<string, unknown> | undefined;
    if (object !== undefined) {
      const nested = exactPatternOf(object);
      if (nested) pattern[key] = nested;
    } else if (scalars.length > 0) {
      pattern[key] = [scalars[scalars.length - 1]];
    }
  }
  return Object.keys(pattern).length > 0 ? pattern : undefined;
}

describe('event pattern properties', () => {
  const somePattern = {
    source: [{ prefix: 'a' }],
    detail: { n: [{ numeric: ['>', 0] }], ip: [{ cidr: '10.0.0.0/8' }], w: [{ wildcard: '*x*' }] },
    $or: [{ a: [{ exists: false }] }, { b: [{ 'anything-but': { suffix: 'z' } }] }],
  };

  it('never throws on any JSON event', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (event) => {
        expect(typeof matches(somePattern, event)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('an exact-value pattern built from an event matches that event', () => {
    const jsonObject = fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 });
    fc.assert(
      fc.property(jsonObject, (event) => {
        const pattern = exactPatternOf(event);
        fc.pre(pattern !== undefined);
        expect(matches(pattern as object, event)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
