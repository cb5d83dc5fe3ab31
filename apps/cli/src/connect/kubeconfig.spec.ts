import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeTempDir } from '@tollgate/testing';
import { writeKubeContext } from './kubeconfig';

describe('writeKubeContext', () => {
  const dir = makeTempDir('tollgate-kubeconfig-');
  afterAll(() => dir.remove());

  it('creates a kubeconfig whose current context is the local listener, mode 0600', () => {
    const file = join(dir.path, 'new', 'config');
    expect(writeKubeContext(file, 'prod', 8081)).toEqual({ context: 'tollgate-prod', current: true });
    const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      'current-context': 'tollgate-prod',
      clusters: [
        {
          name: 'tollgate-prod',
          cluster: { server: 'http://127.0.0.1:8081', 'insecure-skip-tls-verify': true },
        },
      ],
      contexts: [{ name: 'tollgate-prod', context: { cluster: 'tollgate-prod', user: 'tollgate-prod' } }],
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps the user’s clusters and current context, and updates its own entry in place', () => {
    const file = join(dir.path, 'existing');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Config\nclusters: [{name: real, cluster: {server: "https://k8s:6443"}}]\nusers: [{name: me, user: {token: t}}]\ncontexts: [{name: real, context: {cluster: real, user: me}}]\ncurrent-context: real\n',
    );
    writeKubeContext(file, 'prod', 8081);
    expect(writeKubeContext(file, 'prod', 9000)).toEqual({ context: 'tollgate-prod', current: false });
    const config = parse(readFileSync(file, 'utf8')) as {
      clusters: unknown[];
      users: unknown[];
      'current-context': string;
    };
    expect(config['current-context']).toBe('real');
    expect(config.clusters).toEqual([
      { name: 'real', cluster: { server: 'https://k8s:6443' } },
      {
        name: 'tollgate-prod',
        cluster: { server: 'http://127.0.0.1:9000', 'insecure-skip-tls-verify': true },
      },
    ]);
    expect(config.users).toEqual([
      { name: 'me', user: { token: 't' } },
      { name: 'tollgate-prod', user: {} },
    ]);
  });
});
