import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CERTIFICATE_FINGERPRINT_EXPECTED, certificateFingerprint } from './certificate-fingerprint';
import { ConfigError } from './config.error';
import { readSettings, type Environment, type SettingOverrides, type SettingValues } from './config-source';
import { isLoopbackHost, tunnelEndpoint } from './tunnel-endpoint';

/** Settings of `tollgate connect` (the local listener that tunnels to a connection). */
export const connectSettings = {
  grpcUrl: {
    env: 'TOLLGATE_GRPC_URL',
    flag: '--grpc',
    schema: tunnelEndpoint.default({ address: '127.0.0.1:8010', host: '127.0.0.1', tls: false }),
    expected: 'the gateway gRPC URL, https://host:port or http://host:port (default http://127.0.0.1:8010)',
  },
  port: {
    env: 'TOLLGATE_CONNECT_PORT',
    flag: '--port',
    // Unset means the protocol's default (postgres 5433, mysql 3307, ssh 2222, http and kubernetes 8081, tcp 8999).
    schema: z.coerce.number().int().min(0).max(65535).optional(),
    expected:
      "a local TCP port number 0-65535 (default: the protocol's port, e.g. 5433 for postgres; 0 picks a free port)",
  },
  sshHostKeyFile: {
    env: 'TOLLGATE_SSH_HOST_KEY_FILE',
    schema: z
      .string()
      .min(1)
      .transform((value) => (isAbsolute(value) ? value : resolve(value)))
      .optional()
      .transform((value) => value ?? join(homedir(), '.tollgate', 'ssh_host_ed25519_key')),
    expected:
      'the host key tollgate connect shows local SSH clients, made on first use (default ~/.tollgate/ssh_host_ed25519_key)',
  },
  kubeconfig: {
    // kubectl's own variable: the first file of a KUBECONFIG list is the one kubectl writes to.
    env: 'KUBECONFIG',
    flag: '--kubeconfig',
    schema: z
      .string()
      .optional()
      .transform((value) => value?.split(':').find((path) => path.length > 0))
      .transform((value) =>
        value ? (isAbsolute(value) ? value : resolve(value)) : join(homedir(), '.kube', 'config'),
      ),
    expected:
      'the kubeconfig file tollgate connect adds its context to for kubernetes connections (default $KUBECONFIG, then ~/.kube/config)',
  },
  insecure: {
    env: 'TOLLGATE_INSECURE',
    flag: '--insecure',
    schema: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')])
      .default(false),
    expected: 'true or false: allow a plain-text (http://) gateway URL that is not loopback',
  },
  caFile: {
    env: 'TOLLGATE_CA_FILE',
    flag: '--ca-file',
    schema: z.string().min(1).optional(),
    expected: 'a PEM file of CA certificates that sign the gateway certificate (default: system roots)',
  },
  gatewayFingerprint: {
    env: 'TOLLGATE_GATEWAY_FINGERPRINT',
    flag: '--gateway-fingerprint',
    schema: certificateFingerprint,
    expected: CERTIFICATE_FINGERPRINT_EXPECTED,
  },
} as const;

export type ConnectConfig = SettingValues<typeof connectSettings>;
export type ConnectConfigOverrides = SettingOverrides<typeof connectSettings>;

/** `fallbacks` stand in for unset variables (the gRPC URL the logged-in gateway advertises). */
export function loadConnectConfig(
  overrides: ConnectConfigOverrides = {},
  env?: Environment,
  fallbacks: ConnectConfigOverrides = {},
): ConnectConfig {
  const config = readSettings(connectSettings, overrides, env, fallbacks);
  if (!config.grpcUrl.tls && !config.insecure && !isLoopbackHost(config.grpcUrl.host)) {
    throw new ConfigError([
      `--grpc (or TOLLGATE_GRPC_URL): plain text to ${config.grpcUrl.host} would expose your token; ` +
        'use https:// or pass --insecure',
    ]);
  }
  if (config.gatewayFingerprint && !config.grpcUrl.tls) {
    throw new ConfigError([
      '--gateway-fingerprint (or TOLLGATE_GATEWAY_FINGERPRINT): pins the TLS certificate of the gateway, ' +
        'but --grpc (or TOLLGATE_GRPC_URL) is a plain-text http:// URL; use https://',
    ]);
  }
  return config;
}
