export { SshEngine, type SshEngineOptions } from './engine/ssh.engine';
export { DEFAULT_ENV_ALLOWLIST, requestText } from './engine/policy-governor';
export { startSshFront, type SshFront, type SshFrontOptions } from './front/ssh-front';
export { hostKeyFileFingerprint, hostKeyPublicLine } from './front/host-key-file';
export { loadOrCreateHostKey } from './front/host-key-file';
export { FileHostKeyPins, MemoryHostKeyPins, type HostKeyPins } from './target/host-key-pins';
export { hostKeyFingerprint, normalizeFingerprint } from './target/host-key-fingerprint';
export { HostKeyMismatchError } from './target/target-client';
export {
  acceptSshLogin,
  parseHostKey,
  parseSshUserName,
  type SshLogin,
  type SshLoginOutcome,
  type SshLoginOptions,
} from './listener/ssh-login';
