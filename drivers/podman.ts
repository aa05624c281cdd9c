// podman: the docker driver's graph through Podman's Docker-compatible API socket (rootful by default).
import { PRIORITY } from './driver.ts';
import { containerDriver } from './container.ts';

export const podman = containerDriver('podman', {
  priority: PRIORITY.Default,
  description: "node containers in Podman through its Docker-compatible socket (the docker driver's flags)",
});
