export { HttpProtocolError } from './http-protocol.error';
export {
  closesConnection,
  headerTokens,
  headerValue,
  requestsUpgrade,
  type BodyFraming,
  type HttpEvent,
  type HttpHead,
  type HttpHeader,
  type RequestHead,
  type ResponseHead,
} from './http-messages';
export {
  DEFAULT_HTTP_LIMITS,
  HttpRequestParser,
  HttpResponseParser,
  type HttpParserLimits,
} from './http-message.parser';
export { serializeRequestHead, serializeResponse, serializeResponseHead } from './http-head.serializer';
export { requestPath, type RequestPath } from './request-path';
export { forwardedRequest, offeredUpgrades, type ForwardingRules } from './forwarded-request';
export { ChunkedBodyDecoder, encodeChunk, LAST_CHUNK } from './chunked-body.decoder';
export {
  BodyRewriteError,
  HttpSession,
  type BodyRewriter,
  type HttpSessionOptions,
  type PeekedBody,
  type ResponseRewrite,
  type StreamTap,
  type RelayReply,
  type ReplyFormat,
} from './proxy/http-session';
export {
  connectHttpTarget,
  httpTargetSettings,
  type HttpTargetSettings,
  type SecretResolver,
} from './engine/http-target';
export { httpReplies } from './engine/http-replies';
export {
  formBodyPeek,
  HttpEngine,
  HttpRelayEngine,
  httpRequestFacts,
  type HttpEngineOptions,
} from './engine/http.engine';
export { httpConnectionRefuser, httpRefuser } from './engine/http-refuser';
export { webPageGate } from './web-page-gate';
