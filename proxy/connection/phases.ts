/**
 * A connection's phases and the events each one acts on: the state machine of
 * connection.ts, in one table. A handler asks `ACCEPTS[phase].has(event)` first and drops
 * the event otherwise (a DNS answer after the client left, a timer after the splice began).
 */

export type Phase = 'proxy-header' | 'client-hello' | 'upstream' | 'spliced' | 'closing' | 'closed';

/** What can happen to a connection. Each handler asks `accepts` first. */
export type ConnectionEvent =
  /** Bytes of the PROXY v2 header or of the ClientHello. */
  | 'clientBytes'
  /** A timer, a parser, the route table, DNS, the dialer, or the client's error or FIN refuses it. */
  | 'refusal'
  /** DNS answered (or failed), or the dial finished. */
  | 'upstreamAnswer'
  /** The client socket closed while the connection still owned it (before the splice). */
  | 'clientClosed'
  /** Shutdown: the drain deadline, or the server destroyed. */
  | 'shutdown'
  /** The one log line. */
  | 'end';

const PEEKING = new Set<ConnectionEvent>(['clientBytes', 'refusal', 'clientClosed', 'shutdown', 'end']);

/** The one place that says which events each phase acts on; every other event is dropped. */
export const ACCEPTS = {
  'proxy-header': PEEKING,
  'client-hello': PEEKING,
  // Client bytes wait (kept, then in the kernel) until the splice; a late DNS answer or dial result is dropped
  // in any other phase (the dialled socket is closed).
  upstream: new Set<ConnectionEvent>(['refusal', 'upstreamAnswer', 'clientClosed', 'shutdown', 'end']),
  // The splice owns both sockets and ends the connection itself.
  spliced: new Set<ConnectionEvent>(['shutdown', 'end']),
  // Refused: waiting for the client socket to close (after the alert's linger at most).
  closing: new Set<ConnectionEvent>(['clientClosed', 'shutdown', 'end']),
  closed: new Set<ConnectionEvent>(),
} as const satisfies Record<Phase, ReadonlySet<ConnectionEvent>>;
