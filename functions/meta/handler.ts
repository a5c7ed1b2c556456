import { type PublicRoute, publicApi } from '../../shared/http/kernel.ts';
import { json } from '../../shared/http/response.ts';
import { openApiDocument } from '../../shared/openapi/document.ts';
import { docsContentSecurityPolicy, renderDocs } from '../../shared/openapi/render.ts';

let page: string | undefined;

const routes: Record<string, PublicRoute> = {
  'GET /api/v1/health': async () =>
    json(
      200,
      {
        status: 'ok',
        service: 'slipway',
        ...(process.env.SLIPWAY_VERSION ? { version: process.env.SLIPWAY_VERSION } : {}),
      },
      { 'cache-control': 'no-store' },
    ),

  'GET /api/v1/openapi.json': async (req) =>
    json(200, openApiDocument(serverUrl(req.header('host'))), { 'cache-control': 'public, max-age=300' }),

  'GET /docs': async () => ({
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': docsContentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=300',
    },
    body: docsPage(),
  }),
};

/** Rendered on first use, like the document it shows. */
function docsPage(): string {
  page ??= renderDocs(openApiDocument());
  return page;
}

/** The caller's own host, so tools that read `servers` reach this deployment; plain http only on a local run. */
function serverUrl(host: string | undefined): string | undefined {
  if (!host || !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/.test(host)) return undefined;
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(host.replace(/:\d+$/, '').toLowerCase());
  return `${local ? 'http' : 'https'}://${host}`;
}

export const handler = publicApi(routes);
