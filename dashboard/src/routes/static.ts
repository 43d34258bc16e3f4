/**
 * The web UI (dashboard/ui, built by bin/build.js into dist/ui): hashed assets under
 * /assets/ cached for a year (their names change when their content does), index.html
 * never cached, and every other GET that is not the API or the docs answered with
 * index.html, so a client route reloads. When the UI is not built, `/` says how to build it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';

/** dist/ui from the sources (dashboard/src/routes) and from the bundle (dist/cli.mjs) */
const CANDIDATES = ['../../../dist/ui/', './ui/'];

export function findUiDir(): string | null {
  for (const rel of CANDIDATES) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

const SECURITY_HEADERS = {
  // Chart.js and CodeMirror set inline styles; nothing else inline, nothing from elsewhere
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function staticRoutes(app: App, _ctx: RouteContext): void {
  const dir = findUiDir();
  if (dir) {
    app.register(fastifyStatic, {
      root: `${dir}assets`,
      prefix: '/assets/',
      decorateReply: false,
      cacheControl: false,
      index: false,
      setHeaders(reply) {
        reply.header('cache-control', 'public, max-age=31536000, immutable');
        reply.header('x-content-type-options', 'nosniff');
      },
    });
  }

  // index.html is read again when the build changed it (a rebuild under a running server)
  let cached: { mtime: number; body: string } | null = null;
  function indexHtml(): string | null {
    const d = dir ?? findUiDir();
    if (!d) return null;
    try {
      const mtime = statSync(`${d}index.html`).mtimeMs;
      if (!cached || cached.mtime !== mtime) cached = { mtime, body: readFileSync(`${d}index.html`, 'utf8') };
      return cached.body;
    } catch {
      return null;
    }
  }

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0];
    if (
      path.startsWith('/api/') ||
      path === '/api' ||
      path.startsWith('/docs') ||
      path.startsWith('/assets/')
    )
      return reply.code(404).send({ error: `no route ${req.method} ${path}; see /docs` });
    const html = indexHtml();
    if (html === null)
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built: run `npm run build` (npm start and npm test build it).\n');
    return reply
      .headers({ 'cache-control': 'no-cache', ...SECURITY_HEADERS })
      .type('text/html; charset=utf-8')
      .send(html);
  };
  app.get('/', { config: { auth: 'none' }, schema: { hide: true } }, page);
  app.get('/*', { config: { auth: 'none' }, schema: { hide: true } }, page);
}
