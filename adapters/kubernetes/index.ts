export type { ClusterAccess, ClusterResolver } from "./cluster-access.ts";
export {
  type ClusterNode,
  createKubernetesAdapter,
  type KubernetesAdapter,
  type KubernetesAdapterOptions,
} from "./kubernetes-adapter.ts";
export { LABELS } from "./manifests.ts";
export { ENDPOINT_PLACEHOLDERS, KubernetesSettings, type KubernetesSettingsInput } from "./settings.ts";
