/** `/metrics` (Prometheus text) and `/healthz` on a small HTTP listener of their own. */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function openStatusServer(
  listen: string,
  registry: Registry,
  health: () => { ok: boolean; detail: Record<string, unknown> },
): Promise<StatusServer> {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`collector.metricsListen: ${listen} is not HOST:PORT`);
  const server: Server = createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('content-type', registry.contentType);
      res.end(await registry.metrics());
    } else if (req.url === '/healthz') {
      const h = health();
      res.statusCode = h.ok ? 200 : 503;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'degraded', ...h.detail }));
    } else {
      res.statusCode = 404;
      res.end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), m[1], () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : Number(m[2]),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
