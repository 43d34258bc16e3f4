/**
 * One UDP socket that accepts v5, v9 and IPFIX. Asks for a large receive buffer and warns,
 * naming the sysctl, when the kernel grants less (it caps requests at net.core.rmem_max;
 * Linux reports double the granted size, so compare with half of getRecvBufferSize()).
 *
 * Two ways to read it (collector.udpReceive): 'batch', the optional add-on that reads many
 * datagrams per system call and calls JavaScript once per batch (udp-batch.ts), and
 * 'dgram', Node's own socket, one callback per datagram. 'auto' takes the add-on when it
 * was built. Either way onDatagram gets one datagram at a time; with 'batch' its bytes are a
 * view that is reused after the call (the collector copies what it keeps).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { ListenAddress } from './listen-url.ts';
import { loadUdpBatch, openBatchSocket } from './udp-batch.ts';

export type UdpReceive = 'auto' | 'batch' | 'dgram';

export interface UdpListener {
  readonly address: ListenAddress;
  /** bound port (useful when 0 was asked) */
  readonly port: number;
  /** bytes the kernel granted for the receive buffer */
  readonly recvBufferBytes: number;
  /** how it reads: the recvmmsg add-on, or Node's dgram */
  readonly receive: 'batch' | 'dgram';
  close(): Promise<void>;
}

export interface UdpListenerOptions {
  address: ListenAddress;
  recvBufferBytes: number;
  /** default 'auto' */
  receive?: UdpReceive;
  onDatagram(msg: Buffer, rinfo: Pick<RemoteInfo, 'address' | 'port' | 'size'>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
}

/** Thrown for receive 'batch' when the add-on is not built. */
export class UdpBatchUnavailable extends Error {}

export async function openUdpListener(opts: UdpListenerOptions): Promise<UdpListener> {
  const a = opts.address;
  const mode = opts.receive ?? 'auto';
  const addon = mode === 'dgram' ? undefined : loadUdpBatch();
  if (mode === 'batch' && !addon)
    throw new UdpBatchUnavailable(
      "collector.udpReceive is batch, but the udp-batch add-on is not built (bin/build.js compiles it with cc and Node's headers): use auto or dgram",
    );
  if (addon) {
    const s = openBatchSocket(addon, a.host, a.port, a.family, opts.recvBufferBytes, opts.onDatagram);
    warnSmallBuffer(opts, s.recvBufferBytes);
    return {
      address: a,
      port: s.port,
      recvBufferBytes: s.recvBufferBytes,
      receive: 'batch',
      close: async () => s.close(),
    };
  }
  const socket: Socket = createSocket({ type: a.family === 6 ? 'udp6' : 'udp4', ipv6Only: false });
  socket.on('message', opts.onDatagram);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: a.host, port: a.port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) =>
    opts.warn('UDP socket error', { err: err.message, listen: `${a.host}:${a.port}` }),
  );
  try {
    socket.setRecvBufferSize(opts.recvBufferBytes);
  } catch {
    // Node throws when the kernel refuses the size outright; the check below reports it
  }
  const granted = Math.floor(socket.getRecvBufferSize() / 2);
  warnSmallBuffer(opts, granted);
  return {
    address: a,
    port: socket.address().port,
    recvBufferBytes: granted,
    receive: 'dgram',
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function warnSmallBuffer(opts: UdpListenerOptions, granted: number): void {
  if (granted < opts.recvBufferBytes) {
    opts.warn(
      `UDP receive buffer is ${granted} bytes, not the ${opts.recvBufferBytes} asked: bursts may be dropped by the kernel; raise net.core.rmem_max (sysctl -w net.core.rmem_max=${opts.recvBufferBytes}, or install deploy/sysctl.d/60-vxflow-collector.conf)`,
      { granted, requested: opts.recvBufferBytes },
    );
  }
}
