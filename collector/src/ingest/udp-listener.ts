/**
 * One UDP socket that accepts v5, v9 and IPFIX. Asks for a large receive buffer and warns,
 * naming the sysctl, when the kernel grants less (it caps requests at net.core.rmem_max;
 * Linux reports double the granted size, so compare with half of getRecvBufferSize()).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { ListenAddress } from './listen-url.ts';

export interface UdpListener {
  readonly address: ListenAddress;
  /** bound port (useful when 0 was asked) */
  readonly port: number;
  /** bytes the kernel granted for the receive buffer */
  readonly recvBufferBytes: number;
  close(): Promise<void>;
}

export interface UdpListenerOptions {
  address: ListenAddress;
  recvBufferBytes: number;
  onDatagram(msg: Buffer, rinfo: RemoteInfo): void;
  warn(msg: string, data?: Record<string, unknown>): void;
}

export async function openUdpListener(opts: UdpListenerOptions): Promise<UdpListener> {
  const a = opts.address;
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
  if (granted < opts.recvBufferBytes) {
    opts.warn(
      `UDP receive buffer is ${granted} bytes, not the ${opts.recvBufferBytes} asked: bursts may be dropped by the kernel; raise net.core.rmem_max (sysctl -w net.core.rmem_max=${opts.recvBufferBytes}, or install deploy/sysctl.d/60-vxflow-collector.conf)`,
      { granted, requested: opts.recvBufferBytes },
    );
  }
  return {
    address: a,
    port: socket.address().port,
    recvBufferBytes: granted,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
