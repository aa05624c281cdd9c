// Whether a node container can be --privileged on this engine, and what to give it instead.
// Docker's --privileged asks the kernel for every capability; a daemon whose bounding set lacks one
// (these machines have no CAP_SYS_RESOURCE) fails at start with "unable to apply caps: operation not
// permitted". Podman grants only what it holds itself, so its --privileged works there.

const CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/** Capabilities missing from a `CapBnd:` mask (from /proc/PID/status), up to the kernel's last one. */
export function missingCaps(statusText: string, lastCap: number): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)/m.exec(statusText);
  if (!m) return [];
  const mask = BigInt(`0x${m[1]}`);
  const out: string[] = [];
  for (let bit = 0; bit <= Math.min(lastCap, CAPS.length - 1); bit++) {
    if (!(mask & (1n << BigInt(bit)))) out.push(CAPS[bit]!);
  }
  return out;
}

/**
 * The node's entrypoint when it is not privileged: the engine mounts the cgroup hierarchies
 * read-only in the container's own cgroup namespace; systemd and the runtime need them writable.
 * A bind remount changes only this container's mount, never the superblock the host sees (a plain
 * remount, or a bind of the host's /sys/fs/cgroup, would change the host's). Then systemd as PID 1.
 */
export const CGROUP_RW_SCRIPT = [
  'while read -r _ _ _ _ point _ rest; do',
  '  case " $rest " in *" - cgroup "*|*" - cgroup2 "*) mount -o remount,bind,rw "$point" || echo "kubestrap: cannot make $point writable" >&2;; esac',
  'done < /proc/self/mountinfo',
  'exec "$@"',
].join('\n');
