import * as z from 'zod/mini';
import { ROLE_NAMES } from '../auth/roles.ts';
import type { ScopePath } from '../auth/scope.ts';
import { description, displayName, dnsLabel, resourceId } from './fields.ts';

export const newTeam = z.strictObject({
  name: dnsLabel,
  display_name: z.optional(displayName),
  description: z.optional(description),
});

/** A user is named by the `sub` of their tokens. */
export const userId = z
  .string()
  .check(z.minLength(1), z.maxLength(256), z.regex(/^[\x21-\x7e]+$/, 'must be a token subject'));

export const bindingSubject = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('user'), id: userId }),
  z.strictObject({ kind: z.literal('team'), id: resourceId('team') }),
]);

export const bindingScope = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('platform') }),
  z.strictObject({ kind: z.literal('project'), project_id: resourceId('prj') }),
  z.strictObject({ kind: z.literal('app'), app_id: resourceId('app') }),
  z.strictObject({ kind: z.literal('env'), app_id: resourceId('app'), env: dnsLabel }),
]);

export const newBinding = z.strictObject({
  role: z.enum(ROLE_NAMES),
  subject: bindingSubject,
  scope: bindingScope,
});

export type NewBinding = z.infer<typeof newBinding>;

export type BindingView = NewBinding & {
  id: string;
  scope_path: ScopePath;
  version: number;
  created_at: string;
  created_by: string;
};

export type TeamView = z.infer<typeof newTeam> & { id: string; version: number; member_count: number };

export interface MemberView {
  team_id: string;
  user_id: string;
  added_by: string;
  added_at: string;
}

export interface UserView {
  id: string;
  name: string;
  email: string | null;
  groups: string[];
  created_at: string;
}
