/**
 * Gives an accepted socket reads into buffers the proxy owns (ReusedReads), which Node
 * offers only for sockets it connects (net.connect `onread`). Two ways, the first preferred:
 *
 * - `acceptOwned`: the listening handle's accept callback (`onconnection`, what Node's
 *   net.Server sets on it) is replaced by one that builds the connection's one net.Socket
 *   with `onread`, the way Node's own callback builds it (`handle` option), and counts it on
 *   the server the same way (`_connections`, `_server`, so close() and getConnections()
 *   still see it). One Socket a connection instead of two, and none destroyed unused: the
 *   adoption below costs CPU and garbage a connection more (docs/benchmark.md).
 * - `adopt`: the listener accepts with `pauseOnConnect`, and the accepted socket's handle,
 *   not yet reading, is moved to a new net.Socket built with `onread`. The old Socket object
 *   is detached (no handle) and destroyed, which also keeps the server's connection count
 *   right.
 *
 * Client-to-upstream bytes then cost what upstream-to-client bytes cost (docs/benchmark.md:
 * 1.3 -> 0.8 s/GB in bench:profile). `onconnection`, `_handle`, `_connections`, `_server` and
 * the `handle` option are Node internals (stable since Node 0.x, used by its own accept and
 * by child_process). If a Node release changes the first, `acceptOwned` answers false and the
 * server keeps Node's accept and `adopt`; if it changes the others, `adopt` says so once
 * (`ownedReads: false`) and feeds Node's own chunks to the same ReusedReads, so the proxy
 * works the same, at the old cost.
 */
import { Socket, type Server } from 'node:net';
import type { ReusedReads } from './reused-reads.js';

/** The part of a libuv stream handle this relies on. */
interface StreamHandle {
  readonly reading?: boolean;
  useUserBuffer?: unknown;
}

export interface AdoptedSocket {
  readonly socket: Socket;
  /** false: Node's internals were not as expected; `reads` is fed from 'data' events. */
  readonly ownedReads: boolean;
}

export interface AdoptOptions {
  readonly allowHalfOpen: boolean;
  readonly noDelay: boolean;
  /** Use the fallback even when the handle could move (for tests). @default false */
  readonly forceFallback?: boolean;
}

/**
 * `accepted` must come from a server created with `pauseOnConnect: true` and have been
 * used for nothing yet. Reads start at once, into `reads`.
 */
export function adopt(accepted: Socket, reads: ReusedReads, options: AdoptOptions): AdoptedSocket {
  const holder = accepted as unknown as { _handle: StreamHandle | null };
  const handle = holder._handle;
  if (
    options.forceFallback !== true &&
    handle !== null &&
    typeof handle.useUserBuffer === 'function' &&
    handle.reading !== true
  ) {
    holder._handle = null;
    accepted.destroy();
    const socket = new Socket({
      handle,
      allowHalfOpen: options.allowHalfOpen,
      noDelay: options.noDelay,
      readable: true,
      writable: true,
      onread: reads.onread,
    } as ConstructorParameters<typeof Socket>[0]);
    return { socket, ownedReads: true };
  }
  accepted.on('data', (chunk: Buffer) => {
    if (!reads.deliver(chunk.length, chunk)) accepted.pause();
  });
  accepted.resume();
  return { socket: accepted, ownedReads: false };
}

/** The part of a listening handle `acceptOwned` relies on. */
interface ListenHandle {
  onconnection?: (this: ListenHandle, err: number, clientHandle: StreamHandle | undefined) => void;
}

interface CountedServer {
  _handle?: ListenHandle | null;
  _connections: number;
}

/**
 * Replaces Node's accept on `server`'s listening handle (call it once the server listens):
 * each accepted connection becomes one net.Socket reading into `reads()`'s buffers, handed
 * to `accept`. An accept error, or a client handle without user buffers, goes to Node's own
 * callback as before (its 'error' and 'connection' events). Returns false, changing
 * nothing, when the handle is not as expected.
 */
export function acceptOwned(
  server: Server,
  options: { readonly allowHalfOpen: boolean },
  reads: () => ReusedReads,
  accept: (socket: Socket, reads: ReusedReads) => void,
): boolean {
  const counted = server as unknown as CountedServer;
  const handle = counted._handle;
  const nodeAccept = handle?.onconnection;
  if (handle == null || typeof nodeAccept !== 'function' || typeof counted._connections !== 'number') {
    return false;
  }
  handle.onconnection = function onconnection(err, clientHandle) {
    if (err || clientHandle === undefined || typeof clientHandle.useUserBuffer !== 'function') {
      nodeAccept.call(this, err, clientHandle);
      return;
    }
    const r = reads();
    const socket = new Socket({
      handle: clientHandle,
      allowHalfOpen: options.allowHalfOpen,
      readable: true,
      writable: true,
      onread: r.onread,
    } as ConstructorParameters<typeof Socket>[0]);
    counted._connections++;
    const owned = socket as unknown as { server: Server; _server: Server };
    owned.server = server;
    owned._server = server;
    accept(socket, r);
  };
  return true;
}
