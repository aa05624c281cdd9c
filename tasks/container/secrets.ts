// Bootstrap tokens and certificate keys never reach a plan, a log, an event or an error message.
const PATTERNS: [RegExp, string][] = [
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, '<secret:bootstrap-token>'],
  [/(--certificate-key[= ])[a-f0-9]{64}\b/g, '$1<secret:certificate-key>'],
  [/(--discovery-token-ca-cert-hash[= ])sha256:[a-f0-9]{64}\b/g, '$1<secret:ca-cert-hash>'],
];

export function scrubSecrets(text: string): string {
  return PATTERNS.reduce((t, [re, by]) => t.replace(re, by), text);
}
