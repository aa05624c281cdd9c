// A node's /var is a named volume, and an engine fills a new volume with the image's /var: every
// byte of it is copied into every node. The node image keeps its large files (the releases and
// binaries that the steps look for under /var: the Kubernetes binaries alone are about 200 MB)
// outside /var, linked from where the steps look for them, so each node's volume gets the links.
import { dirname } from 'node:path';

/** Where the image keeps its large files that belong under /var. */
const VAR_STORE_DIR = '/usr/lib/kubestrap/store';

/** Where the image keeps the large file (or directory) meant for `path` under /var. */
export function stored(path: string): string {
  return `${VAR_STORE_DIR}${path}`;
}

/** A build command that links `path` under /var to its stored copy. */
export function linkStored(path: string): string {
  return `mkdir -p ${dirname(path)} && ln -s ${stored(path)} ${path}`;
}
