// The built-in tasks, handed to the engine by the CLI (core/ never imports tasks/).
import type { Task } from '../core/task.ts';
import checkVirt from './check-virt.ts';
import installPackages from './install-packages.ts';
import installRuntime from './install-runtime.ts';
import manageService from './manage-service.ts';
import removePath from './remove-path.ts';
import runCommand from './run-command.ts';
import writeFile from './write-file.ts';
// The kvm2 and qemu drivers' machine tasks.
import createLibvirtNetwork from './create-libvirt-network.ts';
import provisionVm from './provision-vm.ts';
import deleteVm from './delete-vm.ts';
import checkLibvirt from './check-libvirt.ts';
import repairLibvirtNetwork from './repair-libvirt-network.ts';
import provisionQemuVm from './provision-qemu-vm.ts';
import deleteQemuVm from './delete-qemu-vm.ts';
import provisionVirtualboxVm from './provision-virtualbox-vm.ts';
import deleteVirtualboxVm from './delete-virtualbox-vm.ts';
// The Kubernetes node graph (recipes/driver-none.yaml) and its teardown.
import applyCni from './apply-cni.ts';
import claimNode from './claim-node.ts';
import configureKubelet from './configure-kubelet.ts';
import controlPlaneName from './control-plane-name.ts';
import deleteCluster from './delete-cluster.ts';
import installCni from './install-cni.ts';
import installKubernetes from './install-kubernetes.ts';
import kubeadmConfig from './kubeadm-config.ts';
import kubeadmInit from './kubeadm-init.ts';
import preflight from './preflight.ts';
import prepareNode from './prepare-node.ts';
import userKubeconfig from './user-kubeconfig.ts';
import waitApiserver from './wait-apiserver.ts';
// Node containers on Docker/Podman (drivers/docker.ts, drivers/podman.ts).
import createContainerNetwork from './create-container-network.ts';
import provisionNode from './provision-node.ts';
import buildNodeImage from './build-node-image.ts';
import deleteContainerProfile from './delete-container-profile.ts';
import loadImage from './load-image.ts';
import containerKubeconfig from './container-kubeconfig.ts';
import checkContainerEngine from './check-container-engine.ts';
import kubeadmJoin from './kubeadm-join.ts';
import kubeadmJoinCommand from './kubeadm-join-command.ts';
import kubeadmJoinNode from './kubeadm-join-node.ts';

export const builtinTasks: readonly Task[] = [
  checkVirt,
  installPackages,
  installRuntime,
  manageService,
  removePath,
  runCommand,
  writeFile,
  applyCni,
  claimNode,
  configureKubelet,
  controlPlaneName,
  deleteCluster,
  installCni,
  installKubernetes,
  kubeadmConfig,
  kubeadmInit,
  preflight,
  prepareNode,
  userKubeconfig,
  waitApiserver,
  createContainerNetwork,
  provisionNode,
  buildNodeImage,
  deleteContainerProfile,
  loadImage,
  containerKubeconfig,
  checkContainerEngine,
  kubeadmJoin,
  kubeadmJoinCommand,
  kubeadmJoinNode,
  createLibvirtNetwork,
  provisionVm,
  deleteVm,
  checkLibvirt,
  repairLibvirtNetwork,
  provisionQemuVm,
  deleteQemuVm,
  provisionVirtualboxVm,
  deleteVirtualboxVm,
] as Task[];
