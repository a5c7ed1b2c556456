import { describe, expect, it } from 'vitest';
import { createFreeze, deleteFreeze, MAX_FREEZE_RULES, updateFreeze } from '../../shared/calendar/freezes.ts';
import { calendarKeys } from '../../shared/calendar/keys.ts';
import type { FreezeRule } from '../../shared/domain/freeze.ts';
import { Invalid } from '../../shared/errors.ts';
import { commit, getMany } from '../../shared/store/table.ts';
import { admin, failure, nothingElse } from './callers.ts';

/** The rules item every deploy reads (ADR 25), as the freeze writes keep it. */
const root = admin();
const at = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
const later = { kind: 'one_off', starts_at: at(600), ends_at: at(660) } as const;
const platformFreeze = (name: string, window: { kind: 'one_off'; starts_at: string; ends_at: string } = later) =>
  createFreeze(root, { scope: 'platform', name, window }, nothingElse);
const rules = async () => {
  const [item] = await getMany([calendarKeys.freezeRules()]);
  return ((item?.rules ?? []) as FreezeRule[]).map((r) => r.name);
};

describe('the freeze rules item', () => {
  it('follows every create, change and delete in the same commit, and drops windows that are over', async () => {
    const coming = await platformFreeze('coming');
    const now = await platformFreeze('now', { kind: 'one_off', starts_at: at(-5), ends_at: at(60) });
    await platformFreeze('over already', { kind: 'one_off', starts_at: at(-120), ends_at: at(-60) });
    expect(await rules()).toEqual(['coming', 'now']);

    // Ended early (by an admin: it is in force): it leaves the rules at once.
    await updateFreeze(root, now.id, { window: { kind: 'one_off', starts_at: at(-5), ends_at: at(-1) } }, 1);
    expect(await rules()).toEqual(['coming']);
    await updateFreeze(root, coming.id, { name: 'renamed' }, 1);
    expect(await rules()).toEqual(['renamed']);
    await deleteFreeze(root, coming.id, 2);
    expect(await rules()).toEqual([]);
  });

  it(`holds at most ${MAX_FREEZE_RULES} current freezes: one more is refused (422), deleting still works`, async () => {
    const kept = await platformFreeze('kept');
    const [item] = await getMany([calendarKeys.freezeRules()]);
    const filler: FreezeRule[] = Array.from({ length: MAX_FREEZE_RULES - 1 }, (_, i) => ({
      id: `frz_filler${i}`,
      name: `filler ${i}`,
      scope: 'platform',
      window: later,
      allow_rollbacks: true,
    }));
    await commit([
      {
        put: { ...calendarKeys.freezeRules(), rules: [...(item?.rules ?? []), ...filler], version: item?.version + 1 },
        onFail: () => new Invalid('seed', 'seed', false),
      },
    ]);
    const refused = await failure(platformFreeze('one too many'));
    expect(refused).toBeInstanceOf(Invalid);
    expect(refused.code).toBe('too-many-freezes');
    await deleteFreeze(root, kept.id, 1);
    expect(await rules()).toHaveLength(MAX_FREEZE_RULES - 1);
    expect((await platformFreeze('fits again')).name).toBe('fits again');
  });
});
