// A command's output as it arrives in chunks: whole text per stream, UTF-8 safe across chunk
// boundaries, and complete lines handed to onLine as they form (the last, unterminated one at end).
import { StringDecoder } from 'node:string_decoder';

type Stream = 'stdout' | 'stderr';

export class OutputCollector {
  readonly text: Record<Stream, string> = { stdout: '', stderr: '' };
  private readonly pending: Record<Stream, string> = { stdout: '', stderr: '' };
  private readonly decoders: Record<Stream, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(private readonly onLine?: (stream: Stream, line: string) => void) {}

  add(stream: Stream, chunk: Uint8Array): void {
    this.take(stream, this.decoders[stream].write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }

  /** Flushes both streams; call once, when the command has ended. */
  end(): { stdout: string; stderr: string } {
    for (const stream of ['stdout', 'stderr'] as const) {
      this.take(stream, this.decoders[stream].end());
      if (this.onLine && this.pending[stream]) this.onLine(stream, this.pending[stream]);
      this.pending[stream] = '';
    }
    return { stdout: this.text.stdout, stderr: this.text.stderr };
  }

  private take(stream: Stream, text: string): void {
    this.text[stream] += text;
    if (!this.onLine || !text) return;
    const lines = (this.pending[stream] + text).split('\n');
    this.pending[stream] = lines.pop() ?? '';
    for (const l of lines) this.onLine(stream, l);
  }
}
