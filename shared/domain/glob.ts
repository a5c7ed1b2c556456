/**
 * Globs over branch, tag and file names, as CI trigger filters write them: `*` is any run of
 * characters but `/`, `**` any run including `/`, `?` one character but `/`, `[abc]`/`[a-z]` one
 * of a set; a leading `!` in a list excludes. Matched by dynamic programming over (pattern,
 * name) positions — never a backtracking regex — so a hostile pattern or name costs at most
 * pattern length × name length steps.
 */

type Token =
  | { kind: 'char'; char: string }
  | { kind: 'star' }
  | { kind: 'globstar' }
  | { kind: 'one' }
  | { kind: 'set'; test: (c: string) => boolean };

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // `**/` also matches no folder at all: `src/**/x` matches `src/x`.
        if (pattern[i + 1] === '/') i++;
        tokens.push({ kind: 'globstar' });
      } else tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'one' });
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) tokens.push({ kind: 'char', char: c });
      else {
        tokens.push({ kind: 'set', test: charSet(pattern.slice(i + 1, end)) });
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) tokens.push({ kind: 'char', char: pattern[++i] as string });
    else tokens.push({ kind: 'char', char: c });
  }
  return tokens;
}

function charSet(body: string): (c: string) => boolean {
  const negate = body.startsWith('!') || body.startsWith('^');
  const chars = negate ? body.slice(1) : body;
  const ranges: [string, string][] = [];
  for (let i = 0; i < chars.length; i++) {
    const from = chars[i] as string;
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      ranges.push([from, chars[i + 2] as string]);
      i += 2;
    } else ranges.push([from, from]);
  }
  return (c) => c !== '/' && ranges.some(([lo, hi]) => c >= lo && c <= hi) !== negate;
}

/** True when the whole `name` matches the whole `pattern`. */
export function globMatch(pattern: string, name: string): boolean {
  const tokens = tokenize(pattern);
  // reach[j]: the first i tokens can match the first j characters of name.
  let reach = new Array<boolean>(name.length + 1).fill(false);
  reach[0] = true;
  for (const token of tokens) {
    const next = new Array<boolean>(name.length + 1).fill(false);
    for (let j = 0; j <= name.length; j++) {
      if (token.kind === 'star' || token.kind === 'globstar') {
        // Zero characters, or one more than a match already reaching j - 1 (not across / for `*`).
        next[j] =
          (reach[j] as boolean) ||
          (j > 0 && (next[j - 1] as boolean) && (token.kind === 'globstar' || name[j - 1] !== '/'));
      } else if (j > 0 && reach[j - 1]) {
        const c = name[j - 1] as string;
        next[j] = token.kind === 'char' ? c === token.char : token.kind === 'one' ? c !== '/' : token.test(c);
      }
    }
    reach = next;
  }
  return reach[name.length] as boolean;
}

/**
 * A name passes a filter list when the last pattern matching it is not a `!` one. A list of only
 * exclusions lets through everything it does not exclude; an empty list lets everything through.
 */
export function passesFilters(patterns: readonly string[], name: string): boolean {
  if (patterns.length === 0) return true;
  let passes = patterns.every((p) => p.startsWith('!'));
  for (const pattern of patterns) {
    const exclude = pattern.startsWith('!');
    if (globMatch(exclude ? pattern.slice(1) : pattern, name)) passes = !exclude;
  }
  return passes;
}
