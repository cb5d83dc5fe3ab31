export { SshEngine, type SshEngineOptions } from './engine/ssh.engine';
export { requestText } from './engine/policy-governor';
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
  type SshCredential,
  type SshLogin,
  type SshLoginOutcome,
  type SshLoginOptions,
} from './listener/ssh-login';
export {
  MIN_RSA_BITS,
  parseUserPublicKey,
  PublicKeyFormatError,
  USER_KEY_TYPES,
  type UserPublicKey,
} from './keys/user-public-key';
export { execExitStatus, runSshExec, type SshExecOutcome } from './exec/run-ssh-exec';
