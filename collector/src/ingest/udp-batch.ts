/**
 * The batch UDP receive path: native/udp-batch/udp_batch.c reads up to BATCH datagrams per
 * recvmmsg(2) into one slab and calls back once per batch; here each datagram is handed on
 * as a view into the slab (valid only during the call: the collector copies what it keeps)
 * with its source address, formatted once per address and cached.
 *
 * The add-on is optional: bin/build.js compiles it when a C compiler and Node's headers are
 * there; loadUdpBatch() returns undefined otherwise, and the collector uses Node's dgram.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ipv4ToString, ipv6ToString } from '../../../protocol/src/capture/udp.ts';

interface NativeReceiver {
  port: number;
  close(): void;
  /** asks for `bytes` when given; the kernel's SO_RCVBUF (double what it granted) */
  recvBufferSize(bytes?: number): number;
}

interface UdpBatchAddon {
  open(
    host: string,
    port: number,
    family: 4 | 6,
    batch: number,
    slab: Buffer,
    meta: Buffer,
    onBatch: (count: number) => void,
  ): NativeReceiver;
  slotBytes: number;
  metaInts: number;
}

/** datagrams per recvmmsg: 64 slots of 64 KiB is a 4 MiB slab per socket */
const BATCH = 64;

/**
 * Where bin/build.js puts the add-on for this Node's ABI (it uses libuv directly, so it is
 * never loaded into another Node), from the sources (collector/src/ingest) or the bundle (dist/).
 */
const FILE = `udp-batch-abi${process.versions.modules}.node`;
const CANDIDATES = [`../../../build/${FILE}`, `../build/${FILE}`];

let loaded: UdpBatchAddon | null | undefined;

/** The add-on, or undefined when it was not built (or does not load here). */
export function loadUdpBatch(): UdpBatchAddon | undefined {
  if (loaded === undefined) {
    loaded = null;
    const require = createRequire(import.meta.url);
    for (const rel of CANDIDATES) {
      const path = fileURLToPath(new URL(rel, import.meta.url));
      if (!existsSync(path)) continue;
      try {
        loaded = require(path) as UdpBatchAddon;
        break;
      } catch {
        // built for another Node or machine: the dgram path is complete without it
      }
    }
  }
  return loaded ?? undefined;
}

export interface BatchSocket {
  readonly port: number;
  /** bytes the kernel granted for the receive buffer (half of what SO_RCVBUF reports) */
  readonly recvBufferBytes: number;
  close(): void;
}

/** What each datagram's handler gets: the same shape as dgram's rinfo, reused between calls. */
export interface BatchPeer {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

/**
 * Opens host:port with the add-on; `onDatagram` gets a view into the slab (copy what you
 * keep) and a peer object that is reused for the next datagram. Throws as bind does
 * (err.code EADDRINUSE, EACCES…).
 */
export function openBatchSocket(
  addon: UdpBatchAddon,
  host: string,
  port: number,
  family: 4 | 6,
  recvBufferBytes: number,
  onDatagram: (msg: Buffer, peer: BatchPeer) => void,
): BatchSocket {
  const slab = Buffer.allocUnsafeSlow(BATCH * addon.slotBytes);
  const meta = Buffer.alloc(BATCH * addon.metaInts * 4);
  const ints = new Int32Array(meta.buffer, meta.byteOffset, BATCH * addon.metaInts);
  const peer: BatchPeer = { address: '', family: 'IPv4', port: 0, size: 0 };
  const v4Names = new Map<number, string>();
  const v6Names = new Map<string, string>();
  const stride = addon.metaInts;
  const onBatch = (count: number) => {
    for (let i = 0; i < count; i++) {
      const m = i * stride;
      const len = ints[m];
      const at = (m + 3) * 4;
      if (ints[m + 1] === 4) {
        const key = ints[m + 3];
        let name = v4Names.get(key);
        if (name === undefined) {
          name = ipv4ToString(meta, at);
          if (v4Names.size > 65_536) v4Names.clear();
          v4Names.set(key, name);
        }
        peer.address = name;
        peer.family = 'IPv4';
      } else {
        const key = meta.toString('latin1', at, at + 16);
        let name = v6Names.get(key);
        if (name === undefined) {
          name = ipv6ToString(meta, at);
          if (v6Names.size > 65_536) v6Names.clear();
          v6Names.set(key, name);
        }
        peer.address = name;
        peer.family = 'IPv6';
      }
      peer.port = ints[m + 2];
      peer.size = len;
      const start = i * addon.slotBytes;
      onDatagram(slab.subarray(start, start + len), peer);
    }
  };
  const r = addon.open(host, port, family, BATCH, slab, meta, onBatch);
  let granted = 0;
  try {
    granted = Math.floor(r.recvBufferSize(recvBufferBytes) / 2);
  } catch {
    granted = Math.floor(r.recvBufferSize() / 2);
  }
  return { port: r.port, recvBufferBytes: granted, close: () => r.close() };
}
