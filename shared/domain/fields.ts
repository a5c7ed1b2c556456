import * as z from 'zod/mini';

/**
 * Field rules shared by every resource. Everything is bounded: strings have a maximum length,
 * maps a maximum size, so no request can grow an item towards DynamoDB's 400 KB limit.
 */

/** DNS label (RFC 1123): what Kubernetes accepts for names and namespaces. */
export const dnsLabel = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(63),
    z.regex(
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
      'must be a DNS label: lowercase letters, digits and -, starting and ending alphanumeric',
    ),
  );

export const displayName = z.string().check(z.minLength(1), z.maxLength(100));
export const description = z.string().check(z.maxLength(1000));

export const labels = z
  .record(
    z.string().check(z.minLength(1), z.maxLength(63), z.regex(/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/)),
    z.string().check(z.maxLength(63)),
  )
  .check(z.refine((value) => Object.keys(value).length <= 20, 'at most 20 labels'));

export const httpsUrl = z.string().check(
  z.maxLength(2048),
  z.refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' && url.hostname.length > 0 && !url.username && !url.password;
    } catch {
      return false;
    }
  }, 'must be an https URL without credentials'),
);

/** A reference to a secret in Secrets Manager: stored, used by one function, never shown back. */
export const secretArn = z
  .string()
  .check(
    z.maxLength(2048),
    z.regex(
      /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}$/,
      'must be a Secrets Manager secret ARN',
    ),
  );

export const resourceId = (prefix: string) =>
  z.string().check(z.regex(new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`), `must be a ${prefix}_ id`));
