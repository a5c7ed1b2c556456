import { ulid } from 'ulid';

/** Ids are prefixed ULIDs: sortable by creation time, and a stray id says what it names. */
/** What an id names: project, app, cluster, team, binding, deployment, approval, build, pipeline, run, hook, schedule, freeze, chat link, chat channel. */
export type IdPrefix =
  | 'prj'
  | 'app'
  | 'cls'
  | 'team'
  | 'bnd'
  | 'dep'
  | 'apr'
  | 'bld'
  | 'pln'
  | 'run'
  | 'hook'
  | 'sch'
  | 'frz'
  | 'lnk'
  | 'chn';

export const newId = (prefix: IdPrefix): string => `${prefix}_${ulid().toLowerCase()}`;

export const ID_PATTERN = /^[a-z]{2,4}_[0-9a-hjkmnp-tv-z]{26}$/;
