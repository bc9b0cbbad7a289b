/**
 * Pipe readers run by the addon in the libuv loop (uv_poll + read), cheaper to set up per
 * spawn than a net.Socket. One dispatcher per process routes chunks to their handler.
 */

import { isSysError, type NativeAddon } from './addon.js';

export type ChunkHandler = (chunk: Buffer | null) => void;

const handlers = new Map<number, ChunkHandler>();

/** The addon's onData callback. A null chunk is EOF: the handler is dropped after it. */
export function dispatchCapture(id: number, chunk: Buffer | null): void {
  const handler = handlers.get(id);
  if (chunk === null) handlers.delete(id);
  handler?.(chunk);
}

export interface Reader {
  close(): void;
}

/** A capture the addon already runs (id from spawn; 0 = none: `onChunk(null)` at once). */
export function adoptReader(native: NativeAddon, id: number, onChunk: ChunkHandler): Reader {
  if (id === 0) {
    queueMicrotask(() => onChunk(null));
    return { close: () => undefined };
  }
  handlers.set(id, onChunk);
  return {
    close: () => {
      if (handlers.delete(id)) native.captureClose(id);
    },
  };
}

/** Reads `fd` until EOF; `onChunk(null)` once at the end. Closes `fd` if it cannot. */
export function openReader(native: NativeAddon, fd: number, onChunk: ChunkHandler): Reader {
  const id = native.captureOpen(fd);
  if (isSysError(id)) {
    native.close(fd);
    queueMicrotask(() => onChunk(null));
    return { close: () => undefined };
  }
  return adoptReader(native, id, onChunk);
}
