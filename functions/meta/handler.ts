import { config } from '../../shared/config.ts';
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
        ...(config.version ? { version: config.version } : {}),
      },
      { 'cache-control': 'no-store' },
    ),

  'GET /api/v1/openapi.json': async () => json(200, openApiDocument(), { 'cache-control': 'public, max-age=300' }),

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

export const handler = publicApi(routes);
