/**
 * The `exporter` section of the configuration file. Every key can also be given on the
 * command line (`vxflow exporter --help`); the command line wins.
 */
import { type Static, Type } from '@sinclair/typebox';

export const ExporterConfig = Type.Object(
  {
    source: Type.String({
      default: 'sim',
      description: 'ovs, ovs:DPCTL-TARGET, pcap:FILE, pcap:- (stdin), socket:PATH or sim',
    }),
    to: Type.Array(Type.String({ pattern: '^udp://' }), {
      default: ['udp://127.0.0.1:2055'],
      minItems: 1,
      maxItems: 16,
      description: 'collectors: udp://HOST:PORT (IPv6: udp://[::1]:2055)',
    }),
    version: Type.Union([Type.Literal(9), Type.Literal(10), Type.Literal(5)], {
      default: 9,
      description: 'export protocol: 9 (NetFlow v9), 10 (IPFIX) or 5',
    }),
    observationDomain: Type.Integer({ minimum: 0, maximum: 0xffffffff, default: 0 }),
    mtu: Type.Integer({ minimum: 576, maximum: 65_000, default: 1400 }),
    templateRefreshPackets: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20 }),
    templateRefreshMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000 }),
    activeTimeoutS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
    inactiveTimeoutS: Type.Integer({ minimum: 1, maximum: 3600, default: 15 }),
    maxFlows: Type.Integer({ minimum: 16, maximum: 10_000_000, default: 65_536 }),
    sampling: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: '1-in-N' }),
    /** records handed to the encoder at once; datagrams of one batch are awaited together */
    sendBatchRecords: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
    sim: Type.Object(
      {
        rate: Type.Number({ minimum: 0.1, maximum: 10_000_000, default: 500, description: 'flows/s' }),
        seed: Type.Integer({ minimum: 0, maximum: 0xffffffff, default: 1 }),
        tenants: Type.Integer({ minimum: 1, maximum: 10_000, default: 6 }),
        /** seconds to run; 0 = until stopped */
        durationS: Type.Number({ minimum: 0, default: 0 }),
        /** write the simulated tenant inventory here (YAML) at start; '' = don't */
        inventoryOut: Type.String({ default: '' }),
      },
      { additionalProperties: false, default: {} },
    ),
    ovs: Type.Object(
      {
        /** command (split on spaces) that runs ovs-appctl against the switch */
        appctl: Type.String({ default: 'ovs-appctl' }),
        /** OVS_RUNDIR of the switch ('' = the system default) */
        rundir: Type.String({ default: '' }),
        pollMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
        /** also report the underlay (outer VXLAN/Geneve) flows that carry tenant traffic */
        includeUnderlay: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type ExporterConfig = Static<typeof ExporterConfig>;
