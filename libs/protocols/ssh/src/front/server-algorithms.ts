import type { Algorithms } from 'ssh2';

/**
 * Ciphers Tollgate's SSH servers (tollgate connect's front, the gateway's listener) offer to OpenSSH
 * clients. OpenSSH's client prefers chacha20-poly1305, which ssh2 without its optional native
 * binding (not built here: install scripts stay unapproved) computes in JavaScript, several times
 * slower than AES, which runs in OpenSSL; leaving it out makes the client pick AES (CTR with an
 * ETM HMAC, or GCM), which every OpenSSH client since 6.2 supports.
 */
export const SERVER_ALGORITHMS: Algorithms = {
  cipher: ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'],
};
