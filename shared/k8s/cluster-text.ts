/** Most a cluster's own words may take in a deployment's reason. */
const MAX_LENGTH = 200;

/**
 * Text a cluster wrote (a Status message, a rollout condition), made fit for a deployment's
 * status: one line, no control characters, at most 200 characters.
 */
export function clusterText(text: string): string {
  const line = text
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > MAX_LENGTH ? `${line.slice(0, MAX_LENGTH - 1)}…` : line;
}
