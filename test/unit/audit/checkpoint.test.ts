import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../shared/audit/chain.ts';
import {
  advanceRecords,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointBody,
  checkpointKey,
  checkpointNumber,
  findingsAgainst,
  parseCheckpoint,
  type RecordedHead,
  serialize,
  signatureHolds,
  signedBytes,
} from '../../../shared/audit/checkpoint.ts';
import { checkpoint as checkpointView } from '../../../shared/openapi/views.ts';

const h = (label: string) => createHash('sha256').update(label).digest('hex');
const head = (subject: string, seq: number, label = `${subject}#${seq}`): RecordedHead => ({
  subject,
  seq,
  hash: h(label),
  project_id: 'prj_1',
});
const base = (...chains: RecordedHead[]) => ({ key: checkpointKey(1), chains });
const always = () => true;

describe('checkpoint keys', () => {
  it('count down, so S3 lists the newest checkpoint first, and name their number', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 999_999_999_998 }),
        fc.integer({ min: 1, max: 999_999_999_998 }),
        (a, b) => {
          expect(checkpointNumber(checkpointKey(a))).toBe(a);
          if (a < b) expect(checkpointKey(b) < checkpointKey(a)).toBe(true);
        },
      ),
    );
    expect(checkpointKey(1)).toBe('checkpoints/999999999998.json');
    expect(checkpointNumber('checkpoints/latest.json')).toBeUndefined();
    expect(checkpointNumber('other/999999999998.json')).toBeUndefined();
  });
});

describe('carrying records forward', () => {
  it('takes new chains and chains that grew from their recorded entry', () => {
    const next = advanceRecords(base(head('a', 2), head('b', 1)), [head('a', 4), head('b', 1), head('c', 1)], always);
    expect(next.findings).toEqual([]);
    expect(next.chains).toEqual([head('a', 4), head('b', 1), head('c', 1)]);
  });

  it('keeps the record of a chain that went back, changed at the same length, grew from a changed entry or lost its head', () => {
    const recorded = base(head('cut', 5), head('changed', 3), head('regrown', 3), head('gone', 2));
    const now = [head('cut', 4), head('changed', 3, 'forged'), head('regrown', 6, 'forged')];
    const next = advanceRecords(recorded, now, (record) => record.subject !== 'regrown');
    expect(next.chains).toEqual([head('changed', 3), head('cut', 5), head('gone', 2), head('regrown', 3)]);
    const key = checkpointKey(1);
    expect(next.findings).toEqual([
      expect.objectContaining({ subject: 'changed', type: 'rewritten', seq: 3, checkpoint: key }),
      {
        subject: 'cut',
        type: 'truncated',
        seq: 5,
        checkpoint: key,
        message: `chain ends at seq 4 but checkpoint ${key} recorded seq 5`,
      },
      expect.objectContaining({ subject: 'gone', type: 'head-missing' }),
      expect.objectContaining({ subject: 'regrown', type: 'rewritten', seq: 3 }),
    ]);
  });

  it('never lets a recorded head move back, whatever the table says', () => {
    const heads = fc.array(
      fc.record({ subject: fc.constantFrom('a', 'b', 'c'), seq: fc.integer({ min: 1, max: 9 }) }),
      {
        maxLength: 6,
      },
    );
    fc.assert(
      fc.property(heads, heads, (before, after) => {
        const unique = (list: { subject: string; seq: number }[]) => [
          ...new Map(list.map((x) => [x.subject, head(x.subject, x.seq)])).values(),
        ];
        const recorded = unique(before);
        const next = advanceRecords(base(...recorded), unique(after), always);
        for (const record of recorded) {
          expect(next.chains.find((c) => c.subject === record.subject)?.seq).toBeGreaterThanOrEqual(record.seq);
        }
      }),
    );
  });
});

describe('a chain against its checkpoint record', () => {
  const entries = (n: number, forgedFrom = Number.POSITIVE_INFINITY): AuditEntry[] =>
    Array.from(
      { length: n },
      (_, i) => ({ seq: i + 1, hash: h(`x#${i + 1}${i + 1 >= forgedFrom ? 'f' : ''}`) }) as AuditEntry,
    );
  const record = { subject: 'x', seq: 3, hash: h('x#3'), project_id: null };
  const key = checkpointKey(7);

  it('agrees when the recorded entry is there as recorded, with or without later entries', () => {
    expect(findingsAgainst(record, entries(3), key)).toEqual([]);
    expect(findingsAgainst(record, entries(5), key)).toEqual([]);
  });

  it('reports a chain that ends before the record, and a recorded entry whose hash changed', () => {
    expect(findingsAgainst(record, entries(2), key)).toEqual([
      {
        type: 'truncated',
        seq: 3,
        checkpoint: key,
        message: `chain ends at seq 2 but checkpoint ${key} recorded seq 3`,
      },
    ]);
    expect(findingsAgainst(record, entries(5, 2), key)).toEqual([
      expect.objectContaining({ type: 'rewritten', seq: 3, checkpoint: key }),
    ]);
  });
});

describe('signatures', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyId = 'arn:aws:kms:us-east-1:000000000000:key/k';
  const body: CheckpointBody = {
    format: CHECKPOINT_FORMAT,
    number: 4,
    time: '2026-12-04T10:00:00.000Z',
    trigger: 'schedule',
    request: null,
    previous: { key: checkpointKey(3), digest: h('3') },
    skipped: [],
    chains: [head('a', 2)],
    findings: [],
  };
  const signed = (b: CheckpointBody, id = keyId): Checkpoint => ({
    ...b,
    signature: {
      key_id: id,
      algorithm: 'ECDSA_SHA_256',
      value: sign('sha256', signedBytes(b), privateKey).toString('base64'),
    },
  });
  const signer = { keyId, publicKey };

  it('hold for the content signed, stored under its own number, whatever the key order it is read back in', () => {
    const checkpoint = signed(body);
    const reread = parseCheckpoint(serialize(checkpoint)) as Checkpoint;
    expect(signatureHolds(reread, checkpointKey(4), signer)).toBe(true);
    const reordered = Object.fromEntries(Object.entries(checkpoint).reverse()) as unknown as Checkpoint;
    expect(signatureHolds(reordered, checkpointKey(4), signer)).toBe(true);
  });

  it('fail for altered content, another key, another number, or a copy stored under another key', () => {
    const checkpoint = signed(body);
    expect(signatureHolds({ ...checkpoint, chains: [head('a', 1)] }, checkpointKey(4), signer)).toBe(false);
    expect(signatureHolds(signed(body, 'arn:aws:kms:us-east-1:000000000000:key/other'), checkpointKey(4), signer)).toBe(
      false,
    );
    expect(signatureHolds(checkpoint, checkpointKey(5), signer)).toBe(false);
    expect(
      signatureHolds(
        { ...checkpoint, signature: { ...checkpoint.signature, value: 'AAAA' } },
        checkpointKey(4),
        signer,
      ),
    ).toBe(false);
  });

  it('are only looked for in objects shaped like checkpoints', () => {
    expect(parseCheckpoint(Buffer.from('not json'))).toBeUndefined();
    expect(parseCheckpoint(Buffer.from('{"format":"other"}'))).toBeUndefined();
    expect(parseCheckpoint(Buffer.from(JSON.stringify({ ...body })))).toBeUndefined(); // unsigned
  });

  it('the API shows a checkpoint in its documented shape', () => {
    const { chains, signature: _s, format: _f, ...rest } = signed(body);
    const view = { key: checkpointKey(4), ...rest, chain_count: chains.length, verified: true, newer_invalid: [] };
    expect(checkpointView.safeParse(view).error).toBeUndefined();
  });
});
