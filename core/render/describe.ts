// One line per effect, in words a reviewer reads: used by the text plan, the live output and errors.
import type { Effect } from '../effects.ts';

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return 'size unknown';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function describeEffect(e: Effect): string {
  const on = e.host === 'local' ? '' : ` on ${e.host}`;
  switch (e.kind) {
    case 'exec': return `run${e.sudo ? ' as root' : ''}${on}: ${e.command}`;
    case 'probe': return `check${on}: ${e.command}`;
    case 'read': return `read ${e.path}${on}`;
    case 'write':
      if (e.unchanged) return `keep ${e.path}${on} (already as planned)`;
      return `${e.exists ? 'overwrite' : 'create'} ${e.path}${on} (mode ${e.mode}${e.owner ? `, owner ${e.owner}` : ''}, ${e.source && !e.bytes ? `from ${e.source.split('/').pop()} once downloaded` : formatBytes(e.bytes)}${e.sudo ? ', as root' : ''})`;
    case 'remove':
      return e.exists ? `erase ${e.path}${on} (${formatBytes(e.bytes)}${e.sudo ? ', as root' : ''})` : `erase ${e.path}${on} (absent: nothing to do)`;
    case 'service': return e.action === 'daemon-reload' ? `reload systemd units${on}` : `${e.action} service ${e.name}${on}`;
    case 'package': return `${e.action} package ${e.name}${on} (${e.manager})`;
    case 'listen': return `${e.component} listens on ${e.address}:${e.port}/${e.protocol}${on}`;
    case 'download': return `${e.cached ? 'use cached' : 'download'} ${e.url}${e.sha256 ? ` (sha256 ${e.sha256.slice(0, 12)}…)` : ' (no checksum)'}`;
  }
}
