// The VM image a user gets without doing anything: Ubuntu's official cloud image (configured by
// cloud-init from kubestrap's NoCloud seed), verified against the SHA256SUMS published beside it.
// `--image-url` (and `--image-sha256` or `--image-checksum-url`) bring another. Written once, here.
export const DEFAULT_IMAGE_URL = 'https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img';
export const DEFAULT_IMAGE_CHECKSUMS = 'https://cloud-images.ubuntu.com/releases/24.04/release/SHA256SUMS';

/** The sha256 for `file` in a SHA256SUMS text (`<hex> *name` or `<hex>  name`). */
export function checksumFor(sums: string, file: string): string | undefined {
  for (const line of sums.split('\n')) {
    const m = /^([a-f0-9]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m && (m[2] === file || m[2]!.split('/').pop() === file)) return m[1];
  }
  return undefined;
}
