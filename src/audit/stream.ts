// Chain and evidence files as streams, in the browser (the node's export) and in Node (the CLI):
// byte chunks in from a Node stream, a browser ReadableStream or any async iterable; framed
// items out, batched into chunks. The framing and item rules are the pure core's (export.ts).
import { ChainFileReader, ChainFileWriter, type CertifiedBlock, type ChainItem } from '../core/export.js';
import type { SignedGenesis } from '../core/genesis.js';

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ReadableStream<Uint8Array>;
type Many<T> = AsyncIterable<T> | Iterable<T>;

/** Chunks of a source; a ReadableStream is read with its reader (not every browser iterates one). */
export async function* chunksOf(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* source as Many<Uint8Array>;
}

/** Joins small items into chunks of about `target_bytes` (fewer writes, fewer stream reads). */
export async function* batched(items: Many<Uint8Array>, target_bytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let size = 0;
  const flush = (): Uint8Array => {
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    parts = [];
    size = 0;
    return out;
  };
  for await (const item of items) {
    if (size > 0 && size + item.length > target_bytes) yield flush();
    parts.push(item);
    size += item.length;
  }
  if (size > 0) yield flush();
}

/**
 * A chain file as byte chunks, from the genesis and the blocks with their certificates in
 * height order (an async iterator, so the node can read them from IndexedDB as it goes).
 * The last block must carry its certificate.
 */
export function writeChain(genesis: SignedGenesis, blocks: Many<CertifiedBlock>): AsyncGenerator<Uint8Array> {
  async function* items(): AsyncGenerator<Uint8Array> {
    const w = new ChainFileWriter(genesis);
    yield* w.start();
    for await (const b of blocks) yield w.block(b);
    yield w.end();
  }
  return batched(items());
}

/** The browser's form of a chunk stream (for a download, or for transfer out of a worker). */
export function toReadableStream(chunks: AsyncIterator<Uint8Array> | AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = Symbol.asyncIterator in chunks ? (chunks as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() : (chunks as AsyncIterator<Uint8Array>);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** The items of a chain file, checked for sequence and shape as they arrive. */
export async function* readChain(source: ByteSource, progress?: (bytes: number) => void): AsyncGenerator<ChainItem> {
  const reader = new ChainFileReader();
  for await (const chunk of chunksOf(source)) {
    reader.push(chunk);
    for (let item = reader.next(); item !== null; item = reader.next()) yield item;
    progress?.(reader.offset);
  }
  reader.end();
}
