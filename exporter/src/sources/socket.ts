/**
 * `socket:PATH`: listens on a Unix-domain stream socket; any datapath agent connects and
 * writes length-delimited FlowMessages (protocol/proto/flow.proto). Several agents may
 * be connected at once. A message that does not decode (or has out-of-range values) is
 * counted and skipped; a connection whose framing is lost is closed with a logged reason.
 * While the export queue is full, connections are paused (the agents' writes block), so
 * nothing is queued without bound.
 */
import { lstat, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { flowMessageType } from '../../../protocol/src/schema/protobuf.ts';
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import type { FlowSource, SourceContext } from './source.ts';
import { createDelimitedReader } from './socket/framing.ts';
import { messageToRecord } from './socket/to-record.ts';

export interface SocketSourceStats {
  connections: number;
  open: number;
  messages: number;
  records: number;
  malformed: number;
  framingErrors: number;
}

export interface SocketSourceOptions {
  path: string;
  maxMessage?: number;
  /** called when a connection is closed for lost framing, or a message is malformed */
  onProblem?(what: 'malformed' | 'framing', reason: string): void;
  /** called once the socket is listening */
  onListening?(): void;
}

export function createSocketSource(opts: SocketSourceOptions): FlowSource & { stats(): SocketSourceStats } {
  const stats: SocketSourceStats = {
    connections: 0,
    open: 0,
    messages: 0,
    records: 0,
    malformed: 0,
    framingErrors: 0,
  };
  const type = flowMessageType();

  return {
    name: `socket:${opts.path}`,
    stats: () => ({ ...stats }),
    async run(ctx: SourceContext & { drain?: () => Promise<void> }) {
      await removeStaleSocket(opts.path);
      const conns = new Set<Socket>();
      const server = createServer((conn) => {
        stats.connections += 1;
        stats.open += 1;
        conns.add(conn);
        const reader = createDelimitedReader(opts.maxMessage);
        conn.on('data', (chunk: Buffer) => {
          const out: FlowRecord[] = [];
          const now = Date.now();
          const res = reader.push(chunk, (msg) => {
            stats.messages += 1;
            let decoded: Record<string, unknown>;
            try {
              decoded = type.decode(msg) as unknown as Record<string, unknown>;
            } catch (err) {
              stats.malformed += 1;
              opts.onProblem?.('malformed', (err as Error).message);
              return;
            }
            const rec = messageToRecord(decoded, now);
            if (typeof rec === 'string') {
              stats.malformed += 1;
              opts.onProblem?.('malformed', rec);
              return;
            }
            out.push(rec);
          });
          if (out.length) {
            stats.records += out.length;
            ctx.emit(out);
          }
          if (!res.ok) {
            stats.framingErrors += 1;
            opts.onProblem?.('framing', res.reason);
            conn.destroy();
            return;
          }
          if (ctx.drain) {
            const waiting = ctx.drain();
            conn.pause();
            void waiting.then(() => conn.resume());
          }
        });
        conn.on('error', () => {});
        conn.on('close', () => {
          stats.open -= 1;
          conns.delete(conn);
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      opts.onListening?.();
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      // stop accepting, let connected agents' buffered data through, then close
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of conns) c.end();
        setTimeout(() => {
          for (const c of conns) c.destroy();
        }, 1000).unref();
      });
      await unlink(opts.path).catch(() => {});
    },
  };
}

/** A socket file left by a previous run would make listen() fail with EADDRINUSE. */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st?.isSocket()) await unlink(path);
}
