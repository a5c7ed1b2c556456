import * as z from 'zod/mini';

/**
 * A Git ref name (`main`, `refs/heads/main`, `refs/tags/v1.2.0`): the parts of
 * `git check-ref-format` a name can break, printable ASCII only.
 */
export const gitRefName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(255),
    z.regex(/^(?!\/|.*(?:\.\.|\/\/|@\{|\.lock$|\/$|\.$))(?:(?![~^:?*[\\])[!-~])+$/, 'must be a valid Git ref name'),
  );

const commitSha = z
  .string()
  .check(z.regex(/^[0-9a-f]{40}$/, 'must be a full 40-character commit SHA in lowercase hex'));

/** When the commit was made (RFC 3339 with an offset): the start of its DORA lead time. */
export const committedAt = z.iso.datetime({ offset: true });

/**
 * A commit to build: the full 40-hex SHA (never a short or symbolic one, so a build is
 * reproducible) and the ref it was seen on; message and author only to show.
 */
export const commit = z.strictObject({
  sha: commitSha,
  ref: gitRefName,
  message: z.optional(z.string().check(z.maxLength(2000))),
  author: z.optional(z.string().check(z.maxLength(256))),
  committed_at: z.optional(committedAt),
});

/** The commit a deployment ships, when its request names one: what its lead time for changes starts from. */
export const deployedCommit = z.strictObject({ sha: commitSha, committed_at: committedAt });
export type DeployedCommit = z.infer<typeof deployedCommit>;

export type Commit = z.infer<typeof commit>;
