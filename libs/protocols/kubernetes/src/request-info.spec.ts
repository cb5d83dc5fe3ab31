import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kubernetesRequestInfo } from './request-info';

const info = (method: string, target: string) => {
  const [path = '', query = ''] = target.split('?');
  const result = kubernetesRequestInfo(method, path, query);
  if (!result.ok) throw new Error(result.error);
  return result.info;
};

describe('kubernetesRequestInfo (as kube-apiserver reads requests)', () => {
  it.each([
    ['GET', '/api/v1/namespaces/prod/pods', { verb: 'list', group: '', resource: 'pods', namespace: 'prod' }],
    [
      'GET',
      '/api/v1/namespaces/prod/pods?watch=true&resourceVersion=5',
      { verb: 'watch', resource: 'pods', namespace: 'prod' },
    ],
    ['GET', '/api/v1/namespaces/prod/pods?watch=0', { verb: 'list' }],
    ['GET', '/api/v1/pods', { verb: 'list', resource: 'pods', namespace: undefined }],
    ['GET', '/api/v1/namespaces/prod/pods/web-1', { verb: 'get', name: 'web-1', namespace: 'prod' }],
    [
      'GET',
      '/api/v1/namespaces/prod/pods/web-1/log?follow=true',
      { verb: 'get', resource: 'pods', subresource: 'log', name: 'web-1' },
    ],
    ['POST', '/api/v1/namespaces/prod/pods', { verb: 'create', resource: 'pods', name: undefined }],
    [
      'PUT',
      '/apis/apps/v1/namespaces/prod/deployments/api',
      { verb: 'update', group: 'apps', version: 'v1', resource: 'deployments', name: 'api' },
    ],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/prod/deployments/api/scale',
      { verb: 'patch', resource: 'deployments', subresource: 'scale' },
    ],
    ['DELETE', '/api/v1/namespaces/prod/pods/web-1', { verb: 'delete', name: 'web-1' }],
    ['DELETE', '/api/v1/namespaces/prod/pods', { verb: 'deletecollection', resource: 'pods' }],
    ['POST', '/api/v1/namespaces/prod/pods/web-1/exec?command=sh', { verb: 'exec', subresource: 'exec' }],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/exec?command=sh', { verb: 'exec', subresource: 'exec' }],
    ['POST', '/api/v1/namespaces/prod/pods/web-1/attach', { verb: 'attach', subresource: 'attach' }],
    [
      'POST',
      '/api/v1/namespaces/prod/pods/web-1/portforward',
      { verb: 'portforward', subresource: 'portforward' },
    ],
    [
      'GET',
      '/api/v1/namespaces/prod/services/web:80/proxy/metrics',
      { verb: 'proxy', resource: 'services', name: 'web:80' },
    ],
    [
      'GET',
      '/api/v1/proxy/namespaces/prod/pods/web-1',
      { verb: 'proxy', resource: 'pods', namespace: 'prod', name: 'web-1' },
    ],
    ['GET', '/api/v1/watch/namespaces/prod/pods', { verb: 'watch', resource: 'pods', namespace: 'prod' }],
    [
      'GET',
      '/api/v1/namespaces/prod',
      { verb: 'get', resource: 'namespaces', name: 'prod', namespace: 'prod' },
    ],
    [
      'PUT',
      '/api/v1/namespaces/prod/finalize',
      { verb: 'update', resource: 'namespaces', subresource: 'finalize' },
    ],
    ['GET', '/api/v1/nodes/n1', { verb: 'get', resource: 'nodes', name: 'n1', namespace: undefined }],
    ['GET', '/apis', { resourceRequest: false, verb: 'get' }],
    ['GET', '/api/v1', { resourceRequest: false, verb: 'get' }],
    ['GET', '/version', { resourceRequest: false, verb: 'get' }],
    ['POST', '/healthz', { resourceRequest: false, verb: 'post' }],
  ])('%s %s', (method, target, expected) => {
    const read = info(method, target) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) expect(read[key], key).toBe(value);
  });

  it('names exec, attach and port-forward by their RBAC verbs too (create, also for a WebSocket GET)', () => {
    expect(info('POST', '/api/v1/namespaces/p/pods/w/exec').rbacVerbs).toEqual(['create']);
    expect(info('GET', '/api/v1/namespaces/p/pods/w/exec').rbacVerbs).toEqual(['get', 'create']);
    expect(info('GET', '/api/v1/namespaces/p/pods/w/portforward').rbacVerbs).toEqual(['get', 'create']);
  });

  it('refuses what the API server refuses to read', () => {
    expect(kubernetesRequestInfo('GET', '/api/v1/pods', 'watch=maybe').ok).toBe(false);
    expect(kubernetesRequestInfo('OPTIONS', '/api/v1/pods', '').ok).toBe(false);
  });

  // kube-apiserver reads the first `watch` value of Go's url.ParseQuery, and anything but `0` or
  // `false` (any case) as true: `watch=f` is a watch there, a list to strconv.ParseBool.
  it.each([
    ['watch=true', 'watch'],
    ['watch=1', 'watch'],
    ['watch=TRUE', 'watch'],
    ['watch=t', 'watch'],
    ['wat%63h=true', 'watch'],
    ['watch=false', 'list'],
    ['watch=0', 'list'],
    ['watch=False', 'list'],
    ['Watch=true', 'list'],
    ['labelSelector=app%3Dweb&watch=true&resourceVersion=1', 'watch'],
  ])('reads ?%s as %s, as the API server does', (query, verb) => {
    expect(info('GET', `/api/v1/namespaces/p/secrets?${query}`).verb).toBe(verb);
  });

  it.each([
    ['watch=f', 'watch=f'],
    ['watch=F', 'watch=F'],
    ['watch=', 'watch='],
    ['watch=no', 'watch=no'],
    ['watch=true+', 'watch=true '],
    ['watch=false&watch=true', 'more than once'],
    ['watch=true&watch=false', 'more than once'],
    ['watch=1&watch=1', 'more than once'],
    ['watch=true;x=1', ';'],
    ['x=1;watch=true', ';'],
    ['watch=%zz&watch=true', 'malformed percent-escape'],
    ['watch=%e2%80', 'not UTF-8'],
  ])('refuses ?%s, which parsers read differently (%s)', (query, why) => {
    const result = kubernetesRequestInfo('GET', '/api/v1/namespaces/p/secrets', query);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toContain(why);
  });

  it('every request under namespaces/NS/... is scoped to NS, and a GET or DELETE without a name spans the collection', () => {
    const segment = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/);
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        fc.constantFrom('/api/v1', '/apis/apps/v1', '/apis/batch/v1'),
        segment,
        fc.constantFrom('pods', 'secrets', 'deployments', 'configmaps'),
        fc.option(segment, { nil: undefined }),
        (method, base, namespace, resource, name) => {
          const result = info(method, `${base}/namespaces/${namespace}/${resource}${name ? `/${name}` : ''}`);
          const collectionVerb =
            method === 'GET' ? 'list' : method === 'DELETE' ? 'deletecollection' : undefined;
          return (
            result.namespace === namespace &&
            result.resource === resource &&
            result.name === name &&
            (name !== undefined || collectionVerb === undefined || result.verb === collectionVerb)
          );
        },
      ),
    );
  });
});
