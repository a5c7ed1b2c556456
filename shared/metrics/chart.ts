/**
 * The DORA report as a compact SVG: four panels (one per metric) with the range's value, its band
 * and a bar per period. Plain strings, no DOM: a small module of our own was 4 KB against the tens
 * of KB a charting library adds to the bundle (ADR 29). Every text is escaped.
 */
import type { Band, DoraPeriod } from '../domain/dora.ts';
import type { DoraReport } from './dora.ts';

const WIDTH = 760;
const PANEL = { width: 370, height: 160 };
const PLOT = { left: 12, top: 62, height: 72 };
const BAND_COLOURS: Record<Band | 'none', string> = {
  elite: '#1a7f37',
  high: '#2f81f7',
  medium: '#bf8700',
  low: '#cf222e',
  none: '#6e7781',
};

/** The five characters XML gives a meaning to, as entities (text and attribute values alike). */
export const escapeXml = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );

/** A duration for people: `42 s`, `3.5 h`, `2.1 d`. */
export function humanDuration(seconds: number | null): string {
  if (seconds === null) return 'no data';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 129_600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

interface Panel {
  title: string;
  value: string;
  band: Band | null;
  /** One number per period (null: nothing to measure then), and how to say the largest. */
  points: (number | null)[];
  label: (n: number) => string;
}

function panels(report: DoraReport): Panel[] {
  const { metrics, series } = report;
  const per = (f: (p: DoraPeriod) => number | null) => series.map(f);
  const rate = metrics.change_failure_rate.rate;
  return [
    {
      title: 'Deployment frequency',
      value: `${metrics.deployment_frequency.deployments} deploys, ${Number(metrics.deployment_frequency.per_day.toFixed(2))}/day`,
      band: metrics.deployment_frequency.band,
      points: per((p) => p.deployment_frequency.deployments),
      label: String,
    },
    {
      title: 'Lead time for changes',
      value: `mean ${humanDuration(metrics.lead_time_for_changes.mean_seconds)}`,
      band: metrics.lead_time_for_changes.band,
      points: per((p) => p.lead_time_for_changes.mean_seconds),
      label: humanDuration,
    },
    {
      title: 'Change failure rate',
      value: rate === null ? 'no data' : `${(rate * 100).toFixed(1)} % of ${metrics.change_failure_rate.deployments}`,
      band: metrics.change_failure_rate.band,
      points: per((p) => p.change_failure_rate.rate),
      label: (n) => `${Math.round(n * 100)} %`,
    },
    {
      title: 'Failed deployment recovery time',
      value: `mean ${humanDuration(metrics.failed_deployment_recovery_time.mean_seconds)}`,
      band: metrics.failed_deployment_recovery_time.band,
      points: per((p) => p.failed_deployment_recovery_time.mean_seconds),
      label: humanDuration,
    },
  ];
}

function drawPanel(panel: Panel, periods: { first: string; last: string }, x: number, y: number): string {
  const colour = BAND_COLOURS[panel.band ?? 'none'];
  const plotWidth = PANEL.width - 2 * PLOT.left;
  const slot = plotWidth / Math.max(1, panel.points.length);
  const max = Math.max(0, ...panel.points.map((p) => p ?? 0));
  const baseline = PLOT.top + PLOT.height;
  const bars = panel.points
    .map((p, i) => {
      if (p === null || max === 0) return '';
      const h = Math.max(1, (p / max) * PLOT.height);
      const bx = PLOT.left + i * slot + slot * 0.15;
      return `<rect x="${bx.toFixed(1)}" y="${(baseline - h).toFixed(1)}" width="${Math.max(1, slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}"/>`;
    })
    .join('');
  const band = panel.band ?? 'no band';
  const small = (tx: number, ty: number, text: string, anchor = 'start') =>
    `<text x="${tx}" y="${ty}" font-size="11" fill="#57606a" text-anchor="${anchor}">${escapeXml(text)}</text>`;
  return [
    `<g transform="translate(${x},${y})">`,
    `<rect width="${PANEL.width}" height="${PANEL.height}" rx="6" fill="#ffffff" stroke="#d0d7de"/>`,
    `<text x="12" y="22" font-size="14" font-weight="600" fill="#1f2328">${escapeXml(panel.title)}</text>`,
    `<text x="12" y="44" font-size="13" fill="#1f2328">${escapeXml(panel.value)}</text>`,
    `<rect x="${PANEL.width - 88}" y="30" width="76" height="20" rx="10" fill="${colour}"/>`,
    `<text x="${PANEL.width - 50}" y="44" font-size="12" font-weight="600" fill="#ffffff" text-anchor="middle">${escapeXml(band)}</text>`,
    max > 0 ? small(PANEL.width - PLOT.left, PLOT.top - 2, `max ${panel.label(max)}`, 'end') : '',
    `<line x1="${PLOT.left}" y1="${baseline}" x2="${PANEL.width - PLOT.left}" y2="${baseline}" stroke="#d0d7de"/>`,
    bars,
    small(PLOT.left, baseline + 14, periods.first),
    periods.last === periods.first ? '' : small(PANEL.width - PLOT.left, baseline + 14, periods.last, 'end'),
    `</g>`,
  ].join('');
}

/** The report as a standalone SVG document (its own width and height, so it embeds as an image). */
export function doraSvg(report: DoraReport): string {
  const subject = [report.name, report.env].filter(Boolean).join(' / ');
  const heading = `DORA metrics of ${subject}`;
  const span = `${report.from} to ${report.to}, by ${report.interval}`;
  const periods = { first: report.series[0]?.start ?? report.from, last: report.series.at(-1)?.start ?? report.to };
  const height = 40 + 2 * (PANEL.height + 10);
  const cells = panels(report).map((p, i) =>
    drawPanel(p, periods, 5 + (i % 2) * (PANEL.width + 10), 40 + Math.floor(i / 2) * (PANEL.height + 10)),
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img" aria-label="${escapeXml(`${heading}, ${span}`)}">`,
    `<title>${escapeXml(`${heading}, ${span}`)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#f6f8fa"/>`,
    `<text x="10" y="26" font-size="15" font-weight="600" fill="#1f2328">${escapeXml(heading)}</text>`,
    `<text x="${WIDTH - 10}" y="26" font-size="12" fill="#57606a" text-anchor="end">${escapeXml(span)}</text>`,
    ...cells,
    '</svg>',
  ].join('\n');
}
