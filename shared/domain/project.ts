import * as z from 'zod/mini';
import { description, displayName, dnsLabel, labels } from './fields.ts';

/** A project groups applications and is the usual scope of a team's role binding. */
export const projectChanges = z.strictObject({
  display_name: z.optional(displayName),
  description: z.optional(description),
  labels: z.optional(labels),
});

export const newProject = z.strictObject({ name: dnsLabel, ...projectChanges.shape });

export type NewProject = z.infer<typeof newProject>;
export type ProjectChanges = z.infer<typeof projectChanges>;

export type ProjectView = NewProject & {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string;
};
