/**
 * Zero-copy hand-off of a buffer to another thread. A buffer that is the whole of its ArrayBuffer
 * is transferred (moved, no copy); a view into a shared one (Node's small-buffer pool, a slice)
 * is copied by postMessage instead, because transferring would take the rest from its owner.
 * The sender must not touch a transferred buffer again.
 */
export function transferList(buf: Uint8Array): ArrayBuffer[] {
  const ab = buf.buffer;
  if (ab instanceof ArrayBuffer && buf.byteOffset === 0 && buf.byteLength === ab.byteLength && ab.byteLength >= 4096) {
    return [ab];
  }
  return [];
}
