import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type DayCounts, doraReport, emptyCounts } from '../../../shared/domain/dora.ts';
import { doraSvg, escapeXml, humanDuration } from '../../../shared/metrics/chart.ts';
import type { DoraReport } from '../../../shared/metrics/dora.ts';
import { pngIsBlank, wellFormedXml } from '../../integration/delivery/picture.ts';

/** Twelve weeks of a team that deploys most days, with a bad week in the middle. */
function quarter(subject: Partial<DoraReport> = {}): DoraReport {
  const daily = new Map<string, DayCounts>();
  for (let d = 0; d < 84; d++) {
    const day = new Date(Date.UTC(2026, 0, 5) + d * 86_400_000).toISOString().slice(0, 10);
    const bad = d >= 35 && d < 42;
    daily.set(day, {
      ...emptyCounts(),
      deployments: 3,
      succeeded: bad ? 1 : 3,
      rolled_back: bad ? 2 : 0,
      lead_time_ms: (3 + (d % 5)) * 3_600_000,
      lead_time_count: 1,
      recovery_ms: bad ? 2 * 3_600_000 : 0,
      recovery_count: bad ? 1 : 0,
    });
  }
  const range = { from: '2026-01-05', to: '2026-03-29', days: 84 };
  return {
    project_id: 'prj_01jd0000000000000000000000',
    app_id: 'app_01jd0000000000000000000000',
    env: 'prod',
    ...range,
    interval: 'week',
    rollback_window_hours: 24,
    ...doraReport(daily, range, 'week'),
    ...subject,
  } as DoraReport;
}

describe('the DORA chart', () => {
  it('is one well-formed SVG document with a bar per period in each of the four panels', () => {
    const svg = doraSvg(quarter());
    expect(wellFormedXml(svg)).toBe(true);
    expect(svg.match(/<g transform/g)).toHaveLength(4);
    // 12 weeks × 4 panels; the recovery panel has bars only in the bad week.
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#/g)?.length).toBe(12 * 3 + 1);
    expect(svg).toContain('>2026-01-05 to 2026-03-29, by week</text>');
  });

  it('escapes every text it shows', () => {
    const svg = doraSvg(quarter({ env: `<script>alert("x")</script> & 'co'` as string }));
    expect(wellFormedXml(svg)).toBe(true);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;co&apos;');
    expect(escapeXml('a<b>&"\'')).toBe('a&lt;b&gt;&amp;&quot;&apos;');
  });

  it('says durations as people do', () => {
    expect([
      humanDuration(null),
      humanDuration(42),
      humanDuration(600),
      humanDuration(7200),
      humanDuration(259_200),
    ]).toEqual(['no data', '42 s', '10.0 min', '2.0 h', '3.0 d']);
  });
});

describe('the picture checks can fail', () => {
  it('well-formedness refuses a stray ampersand, a bad nesting, an unquoted attribute and two roots', () => {
    for (const bad of ['<a>x & y</a>', '<a><b></a></b>', '<a x=1/>', '<a/><b/>', '<a x="1" x="2"/>', '<a>'])
      expect(wellFormedXml(bad), bad).toBe(false);
    expect(wellFormedXml('<?xml version="1.0"?>\n<a x="&amp;"><b/>t &#38; u</a>')).toBe(true);
  });

  it('a one-colour PNG is blank, a striped one is not', () => {
    const png = (pixel: (x: number, y: number) => number[]) => {
      const width = 40;
      const height = 20;
      const rows = [];
      for (let y = 0; y < height; y++) {
        rows.push(0); // filter: none
        for (let x = 0; x < width; x++) rows.push(...pixel(x, y));
      }
      const chunk = (type: string, data: Buffer) => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(data.length);
        return Buffer.concat([length, Buffer.from(type, 'ascii'), data, Buffer.alloc(4)]); // CRC unchecked
      };
      const header = Buffer.alloc(13);
      header.writeUInt32BE(width, 0);
      header.writeUInt32BE(height, 4);
      header[8] = 8;
      header[9] = 2;
      return Buffer.concat([
        Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
        chunk('IHDR', header),
        chunk('IDAT', deflateSync(Buffer.from(rows))),
        chunk('IEND', Buffer.alloc(0)),
      ]);
    };
    expect(pngIsBlank(png(() => [255, 255, 255]))).toBe(true);
    expect(pngIsBlank(png((x) => [x * 6, 100, 255 - x * 6]))).toBe(false);
  });
});
