/**
 * Shared by the end-to-end tests: the two-tenant inventory (the SAME 10.0.0.0/24 in both
 * tenants, told apart only by the VNI) and a check that stored flow times are plausible.
 */
import type { ClickHouse } from '../../storage/src/clickhouse.ts';

export const TWO_TENANT_INVENTORY = `
tenants:
  - name: red
    networks:
      - name: red-net
        vni: 1001
        subnets: [{ name: red-sub, cidr: 10.0.0.0/24 }]
  - name: blue
    networks:
      - name: blue-net
        vni: 1002
        subnets: [{ name: blue-sub, cidr: 10.0.0.0/24 }]
`;

/** VNI → tenant in TWO_TENANT_INVENTORY; each tenant has one network, `<tenant>-net` */
export const TENANT_OF_VNI: Readonly<Record<number, string>> = { 1001: 'red', 1002: 'blue' };

/**
 * Rows whose times are implausible for traffic sent during the test: a start after the end,
 * or an end more than `slackS` seconds away from when the collector received the flow (a
 * wrong time base — uptime vs epoch, micro vs milliseconds — is off by far more than that).
 */
export async function implausibleTimes(
  ch: ClickHouse,
  where: string,
  slackS = 120,
): Promise<{ rows: number; implausible: number }> {
  const [r] = await ch.query<{ rows: string; implausible: string }>(
    `SELECT count() AS rows,
            countIf(flow_start > flow_end OR abs(toInt64(flow_end) - toInt64(time_received)) > ${slackS}) AS implausible
     FROM ${ch.database}.flows WHERE ${where}`,
  );
  return { rows: Number(r.rows), implausible: Number(r.implausible) };
}

interface CounterLike {
  get(): Promise<{ values: readonly { value: number }[] }>;
}

/** Sum of a prom-client counter over all its labels. */
async function total(c: CounterLike): Promise<number> {
  return (await c.get()).values.reduce((s, v) => s + v.value, 0);
}

/**
 * What went wrong inside the collector on the way to storage: all zero when every datagram
 * decoded, every data set found its template, no sequence gap was seen and nothing was
 * dropped. (Loopback UDP at ping rates loses nothing, so any non-zero value is a defect.)
 */
export async function collectorTrouble(metrics: {
  decodeErrors: CounterLike;
  templateMisses: CounterLike;
  heldExpired: CounterLike;
  lostPackets: CounterLike;
  dropped: CounterLike;
}): Promise<Record<string, number>> {
  return {
    decodeErrors: await total(metrics.decodeErrors),
    templateMisses: await total(metrics.templateMisses),
    heldExpired: await total(metrics.heldExpired),
    lostPackets: await total(metrics.lostPackets),
    dropped: await total(metrics.dropped),
  };
}
