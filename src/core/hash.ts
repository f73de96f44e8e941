// SHA-256 (FIPS 180-4) via @noble/hashes, plus the domain-separated hashes of the protocol.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from './bytes.js';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** Hash with a domain tag so a hash of one kind can never be replayed as another. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  let prefix = tagPrefixes.get(tag);
  if (!prefix) {
    const tagBytes = utf8(`gridledger/${tag}`);
    prefix = concatBytes(new Uint8Array([tagBytes.length]), tagBytes);
    tagPrefixes.set(tag, prefix);
  }
  return nobleSha256(concatBytes(prefix, ...parts));
}

// The few tags the protocol uses, encoded once (a profile showed the encoding per call).
const tagPrefixes = new Map<string, Uint8Array>();
