// The NoCloud seed kubestrap gives a VM: one user with the profile's SSH key and passwordless sudo,
// the hostname, and nothing else (no password, password login off).
export interface Seed {
  hostname: string;
  user: string;
  publicKey: string;
  instanceId: string;
}

const yamlString = (s: string) => JSON.stringify(s);

export function userData(s: Seed): string {
  return [
    '#cloud-config',
    `hostname: ${yamlString(s.hostname)}`,
    'preserve_hostname: false',
    // kubeadm and sudo expect the hostname to resolve.
    'manage_etc_hosts: true',
    'ssh_pwauth: false',
    'users:',
    `  - name: ${yamlString(s.user)}`,
    '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
    '    shell: /bin/bash',
    '    lock_passwd: true',
    '    ssh_authorized_keys:',
    `      - ${yamlString(s.publicKey.trim())}`,
    '',
  ].join('\n');
}

export function metaData(s: Seed): string {
  return `instance-id: ${yamlString(s.instanceId)}\nlocal-hostname: ${yamlString(s.hostname)}\n`;
}

/** A NIC the seed configures, found by its MAC: by DHCP, or with a fixed address (ADDRESS/PREFIX). */
export interface SeedNic {
  name: string;
  mac: string;
  address?: string;
}

/**
 * network-config (version 2). Each NIC is renamed to its name (set-name): cloud-init's networkd
 * renderer matches by the name as well as the MAC, so a NIC kept under its kernel name would match nothing.
 */
export function networkConfig(nics: readonly SeedNic[]): string {
  return [
    'version: 2',
    'ethernets:',
    ...nics.flatMap((n) => [
      `  ${n.name}:`,
      `    match: { macaddress: ${yamlString(n.mac)} }`,
      `    set-name: ${n.name}`,
      ...(n.address ? [`    addresses: [${yamlString(n.address)}]`] : ['    dhcp4: true']),
    ]),
    '',
  ].join('\n');
}
