/**
 * IE 136 flowEndReason (RFC 7012 / IANA "flowEndReason Values"): why the exporter ended a
 * flow record. The exporter's flow cache and OVS flow tracker set them; the schema's
 * flow_end_reason column carries them.
 */
export const END_IDLE = 1; // idle timeout
export const END_ACTIVE = 2; // active timeout
export const END_OF_FLOW = 3; // end of flow detected (TCP FIN or RST)
export const END_FORCED = 4; // forced end (shutdown, end of a capture)
export const END_LACK_OF_RESOURCES = 5; // lack of resources (the cache was full)
