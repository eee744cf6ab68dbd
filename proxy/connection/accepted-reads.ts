/**
 * Gives an accepted socket reads into buffers the proxy owns (ReusedReads), which Node
 * offers only for sockets it connects (net.connect `onread`): the listener accepts with
 * `pauseOnConnect`, and the accepted socket's handle, not yet reading, is moved to a new
 * net.Socket built with `onread`, the way Node's own accept builds one (`handle` option).
 * The old Socket object is detached (no handle) and destroyed, which also keeps the
 * server's connection count right. Client-to-upstream bytes then cost what
 * upstream-to-client bytes cost (docs/benchmark.md: 1.3 -> 0.8 s/GB in bench:profile).
 *
 * `_handle` and the `handle` option are Node internals (stable since Node 0.x, used by its
 * own accept and by child_process). If a Node release changes them, `adopt` says so once
 * (`ownedReads: false`) and feeds Node's own chunks to the same ReusedReads, so the proxy
 * works the same, at the old cost.
 */
import { Socket } from 'node:net';
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
