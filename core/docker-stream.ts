// The Docker (and Podman) attach/exec stream format, read by the container host and the Engine API calls.

/** Calls onFrame per frame: an 8-byte header (stream type, 3 zero bytes, big-endian length), then the payload. */
export function frames(onFrame: (type: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 8) {
      const size = buf.readUInt32BE(at + 4);
      if (buf.length - at - 8 < size) break;
      onFrame(buf[at]!, buf.subarray(at + 8, at + 8 + size));
      at += 8 + size;
    }
    buf = buf.subarray(at);
  };
}
