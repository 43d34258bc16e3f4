/**
 * Writes the exporter benchmark's input capture:
 *   node bin/run-ts.js bench/tools/gen-vxlan-pcap.ts OUT.pcap [PACKETS] [FLOWS] [VNIS] [SIZE]
 * (defaults: 1 000 000 packets, 10 000 inner flows, 8 VNIs, 160-byte frames)
 */
import { writeVxlanCapture } from './vxlan-capture.ts';

const [path, packets = '1000000', flows = '10000', vnis = '8', size = '160'] = process.argv.slice(2);
if (!path) {
  console.error('usage: gen-vxlan-pcap.ts OUT.pcap [PACKETS] [FLOWS] [VNIS] [SIZE]');
  process.exit(2);
}
const facts = writeVxlanCapture(path, {
  packets: Number(packets),
  flows: Number(flows),
  vnis: Number(vnis),
  packetSize: Number(size),
});
console.log(`${path}: ${facts.packets} packets, ${facts.flows} inner flows`);
