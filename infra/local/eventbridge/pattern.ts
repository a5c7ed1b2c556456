/**
 * The EventBridge event-pattern language (also Lambda's event filtering, so the stream poller uses
 * it too), as documented in "Content filtering in Amazon EventBridge event patterns" and the
 * aws/event-ruler README that implements it:
 *
 * - every field named in a pattern must match (AND); a field matches if any of its listed values
 *   matches (OR); `$or: [{...}, {...}]` ORs whole sub-patterns;
 * - an array in the event matches if any element matches; objects inside arrays are matched one
 *   element at a time (fields from two different elements never combine into one match);
 * - comparisons are leaf-only: a field holding an object has no value, so only `exists: false` matches it;
 * - exact, anything-but and numeric compare numbers as numbers (5 equals 5.0), never a string "5";
 *   prefix, suffix, equals-ignore-case, wildcard and cidr only see strings.
 *
 * `matches()` compiles a pattern once (cached by object identity) and throws
 * InvalidEventPatternException for an invalid pattern, as PutRule would.
 */
import { BlockList, isIP } from 'node:net';
import { AwsServiceError } from '../aws-endpoint.ts';

/** Tests the event value found at one place of the pattern. */
type NodeTest = (value: unknown) => boolean;
/** Tests the leaf values of one field (an event array contributes each scalar element). */
type LeafTest = (leaves: readonly unknown[]) => boolean;

const KEYWORDS = new Set([
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'equals-ignore-case',
  'wildcard',
  'cidr',
]);
/** Numeric matching is documented for -5.0e9..+5.0e9. */
const NUMERIC_LIMIT = 5e9;

const compiled = new WeakMap<object, NodeTest>();

/** Throws AwsServiceError('InvalidEventPatternException') when `pattern` is not a valid event pattern. */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}

/** Whether `event` matches `pattern`. Never throws for any event; throws for an invalid pattern. */
export function matches(pattern: object, event: unknown): boolean {
  let test = compiled.get(pattern);
  if (test === undefined) {
    test = compilePattern(pattern);
    compiled.set(pattern, test);
  }
  return test(event);
}

function compilePattern(pattern: unknown): NodeTest {
  if (!isPlainObject(pattern)) throw invalid('the pattern must be a JSON object');
  return compileObject(pattern, '');
}

function invalid(reason: string): AwsServiceError {
  return new AwsServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// Structure: objects, $or, fields

function compileObject(pattern: Record<string, unknown>, path: string): NodeTest {
  const keys = Object.keys(pattern);
  if (keys.length === 0) throw invalid(`${path || 'the pattern'}: empty objects are not allowed`);
  const tests = keys.map((key) => compileField(key, pattern[key], path ? `${path}.${key}` : key));
  const all = (container: unknown) => tests.every((test) => test(container));
  return (value) => {
    if (!Array.isArray(value)) return all(value);
    const elements = value.flat(Infinity);
    // An empty array holds no fields: only `exists: false` can match inside it.
    return elements.length === 0 ? all(undefined) : elements.some(all);
  };
}

/** A test on a container (the object holding `key`), or on the container itself for `$or`. */
function compileField(key: string, spec: unknown, path: string): NodeTest {
  if (key === '$or' && isOrPrimitive(spec)) {
    const alternatives = spec.map((alternative, i) => compileObject(alternative, `${path}[${i}]`));
    return (container) => alternatives.some((alternative) => alternative(container));
  }
  const fieldOf = (container: unknown): unknown =>
    isPlainObject(container) && Object.hasOwn(container, key) ? container[key] : undefined;
  if (Array.isArray(spec)) {
    const leaf = compileLeaf(spec, path);
    return (container) => leaf(leafValues(fieldOf(container)));
  }
  if (isPlainObject(spec)) {
    const nested = compileObject(spec, path);
    return (container) => nested(fieldOf(container));
  }
  throw invalid(`"${path}" must be an object or an array`);
}

/**
 * `$or` means OR only when it holds 2+ objects that name fields, not match types (event-ruler's
 * rule); otherwise `$or` is an ordinary field name, kept for old patterns.
 */
function isOrPrimitive(spec: unknown): spec is Record<string, unknown>[] {
  return (
    Array.isArray(spec) &&
    spec.length >= 2 &&
    spec.every((alternative) => isPlainObject(alternative) && !Object.keys(alternative).some((k) => KEYWORDS.has(k)))
  );
}

/** The scalar values of a field: itself, or every scalar of an array (nested arrays flattened). */
function leafValues(value: unknown): unknown[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value.flat(Infinity) : [value];
  return values.filter((v) => !isPlainObject(v) && v !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Leaves: the list of values and match types of one field

function compileLeaf(spec: unknown[], path: string): LeafTest {
  if (spec.length === 0) throw invalid(`"${path}": empty arrays are not allowed`);
  const tests = spec.map((item) => compileMatch(item, path));
  return (leaves) => tests.some((test) => test(leaves));
}

function compileMatch(item: unknown, path: string): LeafTest {
  if (item === null || typeof item === 'string' || typeof item === 'boolean' || typeof item === 'number') {
    return anyLeaf((v) => sameValue(v, item));
  }
  if (!isPlainObject(item))
    throw invalid(`"${path}": match values must be strings, numbers, booleans, null or objects`);
  const keys = Object.keys(item);
  const type = keys[0];
  if (keys.length !== 1 || type === undefined) throw invalid(`"${path}": a match object must have exactly one key`);
  const arg = item[type];
  switch (type) {
    case 'prefix':
      return anyString(affixTest(arg, path, 'prefix', (v, p) => v.startsWith(p)));
    case 'suffix':
      return anyString(affixTest(arg, path, 'suffix', (v, s) => v.endsWith(s)));
    case 'equals-ignore-case':
      return anyString(ignoreCaseTest(requireString(arg, path, type)));
    case 'wildcard':
      return anyString(wildcardTest(requireString(arg, path, type), path));
    case 'anything-but':
      return anyLeaf(compileAnythingBut(arg, path));
    case 'numeric':
      return anyLeaf(compileNumeric(arg, path));
    case 'cidr':
      return anyString(compileCidr(arg, path));
    case 'exists':
      if (typeof arg !== 'boolean') throw invalid(`"${path}": exists must be true or false`);
      return (leaves) => leaves.length > 0 === arg;
    default:
      throw invalid(`"${path}": unrecognized match type ${type}`);
  }
}

const anyLeaf =
  (test: (value: unknown) => boolean): LeafTest =>
  (leaves) =>
    leaves.some(test);

const anyString =
  (test: (value: string) => boolean): LeafTest =>
  (leaves) =>
    leaves.some((v) => typeof v === 'string' && test(v));

/** Exact comparison of JSON scalars: a number equals the same number however written (5, 5.0, 5e0), never "5". */
const sameValue = (a: unknown, b: unknown): boolean => a === b;

function requireString(arg: unknown, path: string, type: string): string {
  if (typeof arg !== 'string') throw invalid(`"${path}": ${type} match pattern must be a string`);
  return arg;
}

const fold = (s: string): string => s.toLowerCase();

function ignoreCaseTest(expected: string): (value: string) => boolean {
  const folded = fold(expected);
  return (value) => fold(value) === folded;
}

/** `prefix` / `suffix`: a string, or `{ "equals-ignore-case": string }`. */
function affixTest(
  arg: unknown,
  path: string,
  type: string,
  test: (value: string, affix: string) => boolean,
): (value: string) => boolean {
  if (typeof arg === 'string') return (value) => test(value, arg);
  if (isPlainObject(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string') {
    const affix = fold(arg['equals-ignore-case']);
    return (value) => test(fold(value), affix);
  }
  throw invalid(`"${path}": ${type} match pattern must be a string or {"equals-ignore-case": string}`);
}

/** `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. */
function wildcardTest(wildcard: string, path: string): (value: string) => boolean {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const char = wildcard[i] as string;
    if (char === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') throw invalid(`"${path}": invalid escape in wildcard at position ${i}`);
      source += `\\${next}`;
      i++;
    } else if (char === '*') {
      if (wildcard[i + 1] === '*') throw invalid(`"${path}": consecutive wildcard characters at position ${i}`);
      source += '.*';
    } else {
      source += char.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  const regex = new RegExp(`^${source}$`, 's');
  return (value) => regex.test(value);
}

// ---------------------------------------------------------------------------------------------
// anything-but, numeric, cidr

/**
 * anything-but: a string or number, a list of only strings or only numbers, or one of
 * `{prefix}`, `{suffix}`, `{wildcard}`, `{equals-ignore-case}` (string or list). Any value that is
 * not excluded matches, whatever its type; a missing field does not.
 */
function compileAnythingBut(arg: unknown, path: string): (value: unknown) => boolean {
  if (typeof arg === 'string' || typeof arg === 'number') return (value) => !sameValue(value, arg);
  if (Array.isArray(arg)) {
    const allStrings = arg.every((v) => typeof v === 'string');
    const allNumbers = arg.every((v) => typeof v === 'number');
    if (arg.length === 0 || !(allStrings || allNumbers)) {
      throw invalid(`"${path}": anything-but list must be non-empty and all strings or all numbers`);
    }
    return (value) => !arg.some((excluded) => sameValue(value, excluded));
  }
  if (!isPlainObject(arg) || Object.keys(arg).length !== 1) {
    throw invalid(`"${path}": anything-but must be a string, a number, a list, or one match object`);
  }
  const [type, inner] = Object.entries(arg)[0] as [string, unknown];
  const excluded = anythingButString(type, inner, path);
  return (value) => !(typeof value === 'string' && excluded(value));
}

function anythingButString(type: string, inner: unknown, path: string): (value: string) => boolean {
  switch (type) {
    case 'prefix': {
      const prefix = requireString(inner, path, 'anything-but prefix');
      return (value) => value.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = requireString(inner, path, 'anything-but suffix');
      return (value) => value.endsWith(suffix);
    }
    case 'wildcard':
      return wildcardTest(requireString(inner, path, 'anything-but wildcard'), path);
    case 'equals-ignore-case': {
      const list = Array.isArray(inner) ? inner : [inner];
      if (list.length === 0 || !list.every((v) => typeof v === 'string')) {
        throw invalid(`"${path}": anything-but equals-ignore-case must be a string or a non-empty list of strings`);
      }
      const folded = new Set(list.map(fold));
      return (value) => folded.has(fold(value));
    }
    default:
      throw invalid(`"${path}": unsupported anything-but match type ${type}`);
  }
}

/** `["=", 5]`, or one lower bound (`>`/`>=`) and/or one upper bound (`<`/`<=`), lower below upper. */
function compileNumeric(arg: unknown, path: string): (value: unknown) => boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
    throw invalid(`"${path}": numeric must be a list of one or two operator/number pairs`);
  }
  const checks: ((n: number) => boolean)[] = [];
  let lower: number | undefined;
  let upper: number | undefined;
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const bound = arg[i + 1];
    if (typeof bound !== 'number' || !Number.isFinite(bound) || Math.abs(bound) > NUMERIC_LIMIT) {
      throw invalid(`"${path}": numeric bounds must be numbers between -5e9 and 5e9`);
    }
    if (op === '=' && arg.length === 2) checks.push((n) => n === bound);
    else if ((op === '>' || op === '>=') && lower === undefined) {
      lower = bound;
      checks.push(op === '>' ? (n) => n > bound : (n) => n >= bound);
    } else if ((op === '<' || op === '<=') && upper === undefined) {
      upper = bound;
      checks.push(op === '<' ? (n) => n < bound : (n) => n <= bound);
    } else throw invalid(`"${path}": bad numeric operator sequence ${JSON.stringify(arg)}`);
  }
  if (lower !== undefined && upper !== undefined && lower >= upper) {
    throw invalid(`"${path}": numeric lower bound must be below the upper bound`);
  }
  return (value) => typeof value === 'number' && checks.every((check) => check(value));
}

/** IPv4 or IPv6 `address/prefix`; event values that are not IP addresses never match. */
function compileCidr(arg: unknown, path: string): (value: string) => boolean {
  const cidr = requireString(arg, path, 'cidr');
  const slash = cidr.lastIndexOf('/');
  const address = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  const family = isIP(address);
  const prefix = Number(prefixText);
  const maxPrefix = family === 4 ? 32 : 128;
  if (slash < 0 || family === 0 || !/^\d{1,3}$/.test(prefixText) || prefix > maxPrefix) {
    throw invalid(`"${path}": "${cidr}" is not a valid CIDR block`);
  }
  const block = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  block.addSubnet(address, prefix, type);
  return (value) => isIP(value) === family && block.check(value, type);
}
