/** The Linux adapters: the Kernel port (native addon) and the Cgroups port (cgroupfs). */

export {
  createLinuxCgroups,
  type LinuxCgroups,
  type LinuxCgroupsOptions,
} from './cgroups/index.js';
export {
  createLinuxKernel,
  type FlowInfo,
  type LinuxKernel,
  type LinuxKernelOptions,
  type LogListener,
  type LogWhich,
} from './kernel.js';
