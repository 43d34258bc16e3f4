/**
 * How an information element's value is turned into JSON-friendly data. A compact form of
 * RFC 7012's abstract data types: what a decoder needs to know, nothing more.
 */
export type IeType =
  | 'unsigned' // unsigned8..64 (reduced-size encoding allowed): number, or bigint above 2^53
  | 'signed'
  | 'float'
  | 'boolean'
  | 'mac'
  | 'ipv4'
  | 'ipv6'
  | 'string'
  | 'octets' // octetArray, unsigned256, lists: lower-case hex
  | 'seconds' // dateTimeSeconds
  | 'milliseconds' // dateTimeMilliseconds
  | 'microseconds' // dateTimeMicroseconds (NTP format)
  | 'nanoseconds'; // dateTimeNanoseconds (NTP format)

export function typeFromIana(abstractType: string): IeType {
  switch (abstractType) {
    case 'unsigned8':
    case 'unsigned16':
    case 'unsigned32':
    case 'unsigned64':
      return 'unsigned';
    case 'signed8':
    case 'signed16':
    case 'signed32':
    case 'signed64':
      return 'signed';
    case 'float32':
    case 'float64':
      return 'float';
    case 'boolean':
      return 'boolean';
    case 'macAddress':
      return 'mac';
    case 'ipv4Address':
      return 'ipv4';
    case 'ipv6Address':
      return 'ipv6';
    case 'string':
      return 'string';
    case 'dateTimeSeconds':
      return 'seconds';
    case 'dateTimeMilliseconds':
      return 'milliseconds';
    case 'dateTimeMicroseconds':
      return 'microseconds';
    case 'dateTimeNanoseconds':
      return 'nanoseconds';
    default:
      return 'octets';
  }
}
