/**
 * The dashboard (docs/dashboard.md): the Vite build in dashboard/dist served at `/` by
 * @fastify/static, with an SPA fallback so a client route (`/functions/add`, `/costs`) reloads
 * into the app. Paths that belong to the platform (`/api`, `/fn`, the pinned tiers, `/metrics`)
 * and paths that name a file never fall back: they get the API's JSON 404 instead. Without a
 * build the server still starts, and `/` says how to make one.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

/** First path segments that are never dashboard routes. */
const PLATFORM_PREFIXES = ['api', 'fn', 'baseline', 'burst', 'fargate', 'lambda', 'metrics'];

export interface DashboardRoutesOptions {
  /** The built dashboard (default: dashboard/dist in the repository). */
  dir?: string;
}

/** True for a GET that the single-page app should answer: not a platform path, not a file. */
export function isClientRoute(url: string): boolean {
  const path = url.split('?')[0]!;
  const first = path.split('/')[1] ?? '';
  if (PLATFORM_PREFIXES.includes(first)) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Spillway: dashboard not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:640px;margin:48px auto;padding:0 16px;color:#1c2330}code,pre{background:#eef0f4;border-radius:4px;padding:2px 6px}pre{padding:10px 12px}</style></head>
<body><h1>The dashboard is not built</h1>
<p>Spillway is running: the API answers under <a href="/api/health"><code>/api</code></a> and functions under <code>/fn/&lt;name&gt;/</code>. The web dashboard has not been built yet (no <code>dashboard/dist</code>).</p>
<p>Build it from the repository folder, then reload this page (no restart needed):</p>
<pre>npm run build:dashboard</pre>
<p><code>npm install</code> builds it too, and <code>npm start</code> builds it when it is missing. See docs/dashboard.md.</p>
</body></html>
`;

export async function dashboardRoutes(app: FastifyInstance, options: DashboardRoutesOptions = {}): Promise<void> {
  const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
  const built = () => existsSync(join(dir, 'index.html'));

  // serve: false: only reply.sendFile (with its path checks, ranges, ETags); the routes are below,
  // so a build made while the server runs is served without a restart.
  await app.register(fastifyStatic, {
    root: dir,
    serve: false,
    // No build yet is a normal state (the fallback explains it), not a warning.
    suppressWarning: true,
    setHeaders: (res, path) => {
      // Vite names assets by content hash: cache them for good; index.html must be re-read.
      res.header('cache-control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    const first = path.split('/')[1] ?? '';
    if (PLATFORM_PREFIXES.includes(first)) return reply.callNotFound();
    const file = !isClientRoute(path);
    if (!built()) return file ? reply.callNotFound() : reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    // A file that is not there falls through to the JSON 404 (@fastify/static calls callNotFound).
    return file ? reply.sendFile(path.slice(1), dir) : reply.type('text/html; charset=utf-8').sendFile('index.html', dir);
  };
  app.get('/', serve);
  app.get('/*', serve);
}
