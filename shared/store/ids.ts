import { ulid } from 'ulid';

/** Ids are prefixed ULIDs: sortable by creation time, and a stray id says what it names. */
export const newId = (
  prefix:
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
    | 'chn',
): string => `${prefix}_${ulid().toLowerCase()}`;

export const ID_PATTERN = /^[a-z]{2,4}_[0-9a-hjkmnp-tv-z]{26}$/;
