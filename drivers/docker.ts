// docker: Kubernetes nodes as containers of the local Docker Engine (minikube's docker driver, kind).
import { PRIORITY } from './driver.ts';
import { containerDriver } from './container.ts';

export const docker = containerDriver('docker', {
  priority: PRIORITY.HighlyPreferred,
  description: 'node containers in Docker (--nodes, --cpus, --memory, --base-image, --ports, --network, --listen-address)',
});
