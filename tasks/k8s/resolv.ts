// Which resolver file the kubelet hands to pods (and so to CoreDNS as its upstream).
// A loopback nameserver means something different inside a pod: there it is the pod itself.
import { KUBELET_RESOLV_CONF } from './paths.ts';

export const ETC_RESOLV = '/etc/resolv.conf';
export const RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';
export const RESOLVED_STUB = '127.0.0.53';
/** The kubelet (like glibc) uses at most three nameservers and warns about the rest. */
export const MAX_NAMESERVERS = 3;

export interface ResolverChoice {
  /** The file the kubelet reads (resolvConf in its configuration). */
  path: string;
  /** When kubestrap writes its own trimmed copy at `path`: its content. */
  content?: string;
  notes: { level: 'info' | 'warn'; message: string; fix?: string }[];
}

export function nameservers(text: string): string[] {
  return text.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x);
}

export function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}

/** Decides from the two files' contents (null: absent). */
export function chooseResolver(etc: string | null, upstream: string | null): ResolverChoice {
  const notes: ResolverChoice['notes'] = [];
  let path = ETC_RESOLV;
  let text = etc ?? '';
  if (etc === null) {
    notes.push({ level: 'warn', message: `${ETC_RESOLV} does not exist: pods will have no DNS upstream`, fix: 'configure a resolver on this machine first' });
  } else if (nameservers(etc).includes(RESOLVED_STUB)) {
    if (upstream !== null) {
      path = RESOLVED_UPSTREAM;
      text = upstream;
      notes.push({
        level: 'info',
        message:
          `${ETC_RESOLV} points at systemd-resolved's stub ${RESOLVED_STUB}, which pods cannot use (CoreDNS would forward to itself: a DNS loop): the kubelet reads ${RESOLVED_UPSTREAM}, the real upstream servers, instead`,
      });
    } else {
      notes.push({
        level: 'warn',
        message:
          `${ETC_RESOLV} points at systemd-resolved's stub ${RESOLVED_STUB} and ${RESOLVED_UPSTREAM} does not exist: CoreDNS would forward to itself (a DNS loop)`,
        fix: 'start systemd-resolved, or pass --extra-config kubelet.resolv-conf=FILE naming real nameservers',
      });
    }
  }
  const servers = nameservers(text);
  // The stub without its upstream file was already reported as a loop above.
  const stubOnly = path === ETC_RESOLV && servers.includes(RESOLVED_STUB) && upstream === null;
  const loops = stubOnly ? [] : servers.filter(isLoopback);
  if (loops.length) {
    notes.push({
      level: 'warn',
      message: `${path} lists loopback nameserver ${
        loops.join(', ')
      }: inside a pod that address is the pod itself, so CoreDNS would forward to itself (a DNS loop that its loop plugin stops by crashing)`,
      fix: 'point the kubelet at a file with the real upstream servers: --extra-config kubelet.resolv-conf=FILE',
    });
  }
  if (servers.length > MAX_NAMESERVERS) {
    const kept = servers.slice(0, MAX_NAMESERVERS);
    const others = text.split('\n').filter((l) => l.trim() && !/^\s*nameserver\s/.test(l) && !/^\s*#/.test(l));
    notes.push({
      level: 'info',
      message: `${path} lists ${servers.length} nameservers; the kubelet uses at most ${MAX_NAMESERVERS}: it reads ${KUBELET_RESOLV_CONF}, which keeps ${
        kept.join(', ')
      }`,
    });
    return {
      path: KUBELET_RESOLV_CONF,
      content: `# Written by kubestrap from ${path}: the kubelet uses at most ${MAX_NAMESERVERS} nameservers.\n${
        kept.map((s) => `nameserver ${s}`).join('\n')
      }\n${others.map((l) => l.trim() + '\n').join('')}`,
      notes,
    };
  }
  return { path, notes };
}
