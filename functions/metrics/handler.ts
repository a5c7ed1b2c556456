import { doraQuery } from '../../shared/domain/dora.ts';
import { validate } from '../../shared/domain/validate.ts';
import { api } from '../../shared/http/api.ts';
import { json } from '../../shared/http/response.ts';
import { doraSvg } from '../../shared/metrics/chart.ts';
import { doraMetricsFor } from '../../shared/metrics/dora.ts';

const base = '/api/v1/metrics';
const query = (q: Record<string, string | undefined>) => validate(doraQuery, q, 'The query');

export const handler = api({
  [`GET ${base}/dora`]: async (req) => json(200, await doraMetricsFor(req.caller, query(req.query))),

  [`GET ${base}/dora.svg`]: async (req) => ({
    statusCode: 200,
    headers: {
      'content-type': 'image/svg+xml; charset=utf-8',
      // Opened on its own, an SVG is a document: nothing in it may run or load.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      'x-content-type-options': 'nosniff',
    },
    body: doraSvg(await doraMetricsFor(req.caller, query(req.query))),
  }),
});
