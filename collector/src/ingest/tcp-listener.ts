/**
 * IPFIX over TCP (RFC 7011 §10.4): a stream of messages, each framed by the length field
 * of its 16-byte header. A message that does not start with version 10 or declares a
 * length below 16 means the stream is out of step with no way to resynchronise, so the
 * connection is closed (counted). Each connection is its own template scope (session key).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { canonicalPeer, type ListenAddress } from './listen-url.ts';

const HEADER = 16;

export interface TcpListener {
  readonly address: ListenAddress;
  readonly port: number;
  close(): Promise<void>;
}

export interface TcpListenerOptions {
  address: ListenAddress;
  maxSessions: number;
  onMessage(msg: Buffer, exporter: string, session: string): void;
  onSessionClosed(session: string): void;
  onFramingError(exporter: string): void;
  info(msg: string, data?: Record<string, unknown>): void;
}

/** Splits a byte stream into IPFIX messages; returns the bytes left over, or null when out of step. */
export function takeIpfixMessages(buf: Buffer, each: (msg: Buffer) => void): Buffer | null {
  let off = 0;
  while (buf.length - off >= HEADER) {
    const version = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (version !== 10 || len < HEADER) return null;
    if (buf.length - off < len) break;
    each(buf.subarray(off, off + len));
    off += len;
  }
  return buf.subarray(off);
}

export async function openTcpListener(opts: TcpListenerOptions): Promise<TcpListener> {
  let nextSession = 1;
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    if (sockets.size >= opts.maxSessions) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    const exporter = canonicalPeer(sock.remoteAddress ?? '');
    const session = `tcp:${exporter}:${sock.remotePort}#${nextSession++}`;
    opts.info('IPFIX TCP session opened', { exporter, session });
    let rest: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      const left = takeIpfixMessages(buf, (m) => opts.onMessage(Buffer.from(m), exporter, session));
      if (left === null) {
        opts.onFramingError(exporter);
        sock.destroy();
        return;
      }
      rest = Buffer.from(left);
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      sockets.delete(sock);
      opts.onSessionClosed(session);
      opts.info('IPFIX TCP session closed', { exporter, session });
    });
  });
  const a = opts.address;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: a.host, port: a.port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    address: a,
    port: typeof addr === 'object' && addr ? addr.port : a.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
