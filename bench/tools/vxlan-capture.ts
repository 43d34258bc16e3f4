/**
 * Writes a synthetic underlay capture: fixed-size VXLAN packets carrying many inner flows
 * across several VNIs, as the exporter benchmark's input (and a test fixture with known
 * flows). Every flow gets the same number of packets, so expected flows, packets and bytes
 * are exact.
 *
 * Command line: bench/tools/gen-vxlan-pcap.ts.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ethernet, ipv4, pcapHeader, TCP_FLAGS, tcp, udp, vxlan } from '../../test/helpers/packets.ts';

export interface VxlanCaptureSpec {
  packets: number;
  /** inner flows; packets are spread round-robin (in a shuffled order) over them */
  flows: number;
  vnis: number;
  /** frame size in bytes (>= 104) */
  packetSize: number;
  /** capture time of the first packet, ms */
  startMs?: number;
  /** gap between packets, µs */
  gapUs?: number;
}

export interface VxlanCaptureFacts {
  packets: number;
  flows: number;
  /** inner IP total length of every packet */
  innerIpLength: number;
  /** packets of each flow (index = flow number) */
  packetsPerFlow: number[];
  firstVni: number;
}

const OUTER = 14 + 20 + 8 + 8;
const FIRST_VNI = 5000;

/** The frame of inner flow i; flows alternate TCP and UDP. */
export function flowFrame(i: number, spec: VxlanCaptureSpec): Buffer {
  const innerL3 = spec.packetSize - OUTER - 14;
  const isTcp = i % 2 === 0;
  const l4Payload = Buffer.alloc(innerL3 - 20 - (isTcp ? 20 : 8), 0x5a);
  const l4 = isTcp
    ? tcp(10000 + (i % 50000), 80, TCP_FLAGS.ACK, l4Payload)
    : udp(20000 + (i % 40000), 53, l4Payload);
  const inner = ethernet(
    { etherType: 0x0800 },
    ipv4({ src: `10.${(i >> 8) & 255}.${i & 255}.1`, dst: `10.200.${i % 7}.2`, proto: isTcp ? 6 : 17 }, l4),
  );
  const vni = FIRST_VNI + (i % spec.vnis);
  return ethernet(
    { etherType: 0x0800 },
    ipv4(
      { src: `172.16.0.${1 + (i % 4)}`, dst: `172.16.1.${1 + ((i >> 2) % 4)}`, proto: 17 },
      // the outer source port carries entropy from the inner flow, as kernels do
      udp(49152 + (i % 1000), 4789, vxlan(vni, inner)),
    ),
  );
}

export function writeVxlanCapture(path: string, spec: VxlanCaptureSpec): VxlanCaptureFacts {
  if (spec.packetSize < 104) throw new RangeError('packetSize must be at least 104');
  const frames = Array.from({ length: spec.flows }, (_, i) => flowFrame(i, spec));
  const recLen = 16 + spec.packetSize;
  const batch = 8192;
  const out = Buffer.alloc(batch * recLen);
  const fd = openSync(path, 'w');
  const packetsPerFlow = new Array<number>(spec.flows).fill(0);
  try {
    writeSync(fd, pcapHeader(1));
    let us = Math.round((spec.startMs ?? 1_764_000_000_000) * 1000);
    const gap = spec.gapUs ?? 5;
    // a stride coprime with the flow count visits every flow once per round, in mixed order
    let stride = 7919 % spec.flows || 1;
    while (gcd(stride, spec.flows) !== 1) stride++;
    for (let done = 0; done < spec.packets; ) {
      const n = Math.min(batch, spec.packets - done);
      for (let k = 0; k < n; k++) {
        const j = done + k;
        const flow = (j * stride) % spec.flows;
        packetsPerFlow[flow]++;
        const o = k * recLen;
        out.writeUInt32LE(Math.floor(us / 1e6), o);
        out.writeUInt32LE(us % 1e6, o + 4);
        out.writeUInt32LE(spec.packetSize, o + 8);
        out.writeUInt32LE(spec.packetSize, o + 12);
        frames[flow].copy(out, o + 16);
        us += gap;
      }
      writeSync(fd, out, 0, n * recLen);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return {
    packets: spec.packets,
    flows: spec.flows,
    innerIpLength: spec.packetSize - OUTER - 14,
    packetsPerFlow,
    firstVni: FIRST_VNI,
  };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
