export {
  kubernetesFacts,
  kubernetesRequestInfo,
  type KubernetesRequestInfo,
  type RequestInfoResult,
} from './request-info';
export { kubernetesReplies } from './engine/kubernetes-status';
export { KubernetesEngine, kubernetesRequestFacts } from './engine/kubernetes.engine';
export { kubernetesRefuser } from './engine/kubernetes-status';
