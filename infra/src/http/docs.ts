import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { notFound } from './errors.js';

/** Swagger UI's files, served from the installed package: the reference works offline. */
const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const;
type Asset = keyof typeof ASSETS;

const distDir = () =>
  dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// No inline script: the page works under a Content-Security-Policy of 'self'.
const INIT = `window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#api',
  deepLinking: true, persistAuthorization: true });`;

function page(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<main id="api"></main>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>`;
}

/**
 * Serves an interactive reference of the app's OpenAPI document at `/docs` (Swagger UI from the
 * installed `swagger-ui-dist`, read once on first use).
 */
export function mountDocs(app: OpenAPIHono, title: string): void {
  const cache = new Map<Asset, Promise<Buffer>>();
  const html = page(title);
  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs',
      tags: ['documentation'],
      security: [],
      summary: 'Interactive API reference',
      responses: {
        200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
      },
    }),
    (c) => c.html(html, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs/{asset}',
      tags: ['documentation'],
      security: [],
      summary: "The reference page's script and style",
      request: { params: z.object({ asset: z.string().max(64) }) },
      responses: {
        200: { description: 'a static file', content: { 'text/plain': { schema: z.string() } } },
        404: { description: 'no such file' },
      },
    }),
    async (c) => {
      const asset = c.req.valid('param').asset;
      if (asset === 'init.js') {
        return c.body(INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
      }
      // Own keys only: `valueOf` or `__proto__` is in every object, and names no file.
      if (!Object.hasOwn(ASSETS, asset)) throw notFound(`no file ${asset}`);
      const name = asset as Asset;
      let body = cache.get(name);
      if (!body) {
        body = readFile(join(distDir(), name));
        cache.set(name, body);
      }
      return c.body(new Uint8Array(await body), 200, {
        'Content-Type': ASSETS[name],
        'Cache-Control': 'public, max-age=86400',
      });
    },
  );
}
