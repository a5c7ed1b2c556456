import { parseDocument } from 'yaml';
import { invalid } from '../errors.ts';

/**
 * A YAML request body (`Content-Type: application/yaml`) as the same JSON value a JSON body would
 * be, so one schema validates both. Bounded: the kernel's size limit applies before this, aliases
 * may expand at most MAX_ALIASES times (a "billion laughs" document is refused, not expanded),
 * duplicate keys and unknown tags are refused, and errors name the line and column.
 */
const MAX_ALIASES = 100;

export function parseYamlBody(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, schema: 'core', version: '1.2' });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const at = problem.linePos?.[0];
    const where = at ? `line ${at.line}, column ${at.col}` : 'the document';
    throw invalid(`The YAML body does not parse: ${problem.message.split('\n')[0]}`, [
      { name: at ? `line ${at.line}:${at.col}` : '(root)', reason: `${problem.code} at ${where}` },
    ]);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    if (error instanceof ReferenceError) {
      throw invalid(`The YAML body expands its aliases more than ${MAX_ALIASES} times; write it out instead.`, [
        { name: '(root)', reason: 'too many alias expansions' },
      ]);
    }
    throw error;
  }
}
