export {
  kubernetesFacts,
  kubernetesRequestInfo,
  type KubernetesRequestInfo,
  type RequestInfoResult,
} from './request-info';
export { kubernetesReplies } from './engine/kubernetes-status';
export {
  KubernetesEngine,
  kubernetesRequestFacts,
  kubernetesResponseRewrite,
} from './engine/kubernetes.engine';
export { MASKED_BASE64, MASKED_TEXT } from './masking/object-masking';
export { kubernetesRefuser } from './engine/kubernetes-status';
export { execRecordingTap } from './exec/exec-recording.tap';
export { WebSocketFrameReader, type WebSocketMessageEvent } from './exec/websocket-frame.reader';
