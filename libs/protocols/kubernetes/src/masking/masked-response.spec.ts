import { describe, expect, it } from 'vitest';
import {
  BodyRewriteError,
  type BodyRewriter,
  type RequestHead,
  type ResponseHead,
} from '@tollgate/protocol-http';
import { JsonObjectSplitter } from './json-object-splitter';
import { maskedResponseRewrite } from './masked-response.rewrite';
import { MASKED_BASE64, MASKED_TEXT, maskKubernetesResponse } from './object-masking';

const FIELDS = ['data', 'stringData'];
const secret = (name: string) => ({
  metadata: { name },
  type: 'Opaque',
  data: { password: 'aHVudGVyMg==' },
  stringData: { note: 'plain secret' },
});

describe('maskKubernetesResponse', () => {
  it('masks objects, lists, Tables and watch events (Table ones too), keeping keys; a Status is left alone', () => {
    const shapes = [
      secret('a'),
      { kind: 'SecretList', items: [secret('a'), secret('b')] },
      { kind: 'Table', rows: [{ cells: ['a'], object: secret('a') }, { cells: ['b'] }] },
      { type: 'MODIFIED', object: secret('a') },
      { type: 'ADDED', object: { kind: 'Table', rows: [{ cells: ['a'], object: secret('a') }] } },
    ];
    for (const shape of shapes) {
      expect(maskKubernetesResponse(shape, FIELDS)).toBeGreaterThan(0);
      const text = JSON.stringify(shape);
      expect(text).not.toContain('aHVudGVyMg==');
      expect(text).not.toContain('plain secret');
      expect(text).toContain(`"password":"${MASKED_BASE64}"`);
      expect(text).toContain(`"note":"${MASKED_TEXT}"`);
    }
    const status = { kind: 'Status', message: 'secrets "x" not found' };
    expect(maskKubernetesResponse(status, FIELDS)).toBe(0);
    expect(status.message).toBe('secrets "x" not found');
  });

  it('masks an object’s own fields whatever its kind says: a custom resource named like a list, a Table or a Status', () => {
    const shapes = [
      // An allow list with items of its own, a custom Status and Table (other groups than the API's).
      {
        apiVersion: 'example.com/v1',
        kind: 'AllowList',
        metadata: { name: 'a' },
        items: [{ ip: '10.0.0.1' }],
        data: { k: 'c2VjcmV0' },
      },
      { apiVersion: 'example.com/v1', kind: 'Status', metadata: { name: 'a' }, data: { k: 'c2VjcmV0' } },
      {
        apiVersion: 'example.com/v1',
        kind: 'Table',
        metadata: { name: 'a' },
        rows: [],
        data: { k: 'c2VjcmV0' },
      },
      // An object that carries `items` as a field of its own.
      {
        apiVersion: 'example.com/v1',
        kind: 'Vault',
        metadata: { name: 'a' },
        items: [{ n: 1 }],
        data: { k: 'c2VjcmV0' },
      },
    ];
    for (const shape of shapes) {
      expect(maskKubernetesResponse(shape, ['data']), shape.kind).toBeGreaterThan(0);
      expect(JSON.stringify(shape), shape.kind).not.toContain('c2VjcmV0');
    }
    // The API server's own Status is left alone.
    const status = { apiVersion: 'v1', kind: 'Status', status: 'Failure', message: 'no' };
    expect(maskKubernetesResponse(status, ['status', 'message'])).toBe(0);
    expect(status).toMatchObject({ status: 'Failure', message: 'no' });
  });

  it('masks the copy kubectl apply keeps in an annotation, or the whole annotation when unreadable', () => {
    const applied = {
      metadata: {
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { k: 'c2VjcmV0' } }),
        },
      },
    };
    maskKubernetesResponse(applied, FIELDS);
    expect(JSON.stringify(applied)).not.toContain('c2VjcmV0');
    const broken = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{c2VjcmV0' } },
    };
    maskKubernetesResponse(broken, FIELDS);
    expect(broken.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe(MASKED_TEXT);
  });

  it('refuses shapes it cannot read', () => {
    expect(() => maskKubernetesResponse([secret('a')], FIELDS)).toThrow();
    expect(() => maskKubernetesResponse({ kind: 'SecretList', items: 'x' }, FIELDS)).toThrow();
  });
});

describe('JsonObjectSplitter', () => {
  it('finds whole objects in a watch stream split at every byte, braces in strings ignored', () => {
    const stream = Buffer.from('{"type":"ADDED","object":{"a":"}{\\"x"}}\n{"b":[1,{"c":2}]}  {"d":"é"}\n');
    for (let cut = 0; cut <= stream.length; cut++) {
      const splitter = new JsonObjectSplitter(1024);
      const objects = [...splitter.push(stream.subarray(0, cut)), ...splitter.push(stream.subarray(cut))];
      expect(objects.map((o) => JSON.parse(o.toString()) as unknown)).toEqual([
        { type: 'ADDED', object: { a: '}{"x' } },
        { b: [1, { c: 2 }] },
        { d: 'é' },
      ]);
      expect(splitter.idle).toBe(true);
    }
  });

  it('refuses what is not an object, and objects over the bound', () => {
    expect(() => new JsonObjectSplitter(1024).push(Buffer.from('[1]'))).toThrow(/JSON objects/);
    expect(() => new JsonObjectSplitter(8).push(Buffer.from('{"aaaaaaaaaa'))).toThrow(/larger than 8/);
  });
});

describe('maskedResponseRewrite', () => {
  const request: RequestHead = {
    kind: 'request',
    method: 'GET',
    target: '/api/v1/secrets',
    version: '1.1',
    headers: [
      ['Accept', 'application/vnd.kubernetes.protobuf, application/json;as=Table;v=v1;g=meta.k8s.io'],
      ['Accept-Encoding', 'gzip'],
    ],
  };
  const response = (headers: [string, string][]): ResponseHead => ({
    kind: 'response',
    version: '1.1',
    status: 200,
    reason: 'OK',
    headers,
  });
  const rewrite = maskedResponseRewrite({ fields: FIELDS, rules: ['secret-values'] }, false);

  it('asks for JSON only (Table form kept) and no compression', () => {
    expect(rewrite.request(request).headers).toEqual([
      ['Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io'],
      ['Accept-Encoding', 'identity'],
    ]);
    expect(rewrite.request({ ...request, headers: [['Accept', '*/*']] }).headers).toContainEqual([
      'Accept',
      'application/json',
    ]);
  });

  it('refuses protobuf, YAML and compressed answers, naming the rule', () => {
    for (const headers of [
      [['Content-Type', 'application/vnd.kubernetes.protobuf']],
      [['Content-Type', 'application/yaml']],
      [],
      [
        ['Content-Type', 'application/json'],
        ['Content-Encoding', 'gzip'],
      ],
    ] as [string, string][][]) {
      expect(rewrite.response(response(headers), { kind: 'chunked' })).toMatch(
        /masking rule "secret-values"/,
      );
    }
  });

  it('masks a whole body, refuses one that does not parse; a watch ends with an ERROR event', () => {
    const body = rewrite.response(response([['Content-Type', 'application/json']]), {
      kind: 'chunked',
    }) as BodyRewriter;
    body.write(Buffer.from(JSON.stringify(secret('a')).slice(0, 10)));
    body.write(Buffer.from(JSON.stringify(secret('a')).slice(10)));
    expect(body.end().toString()).toContain(MASKED_BASE64);
    expect(body.masked).toEqual(['secret-values']);
    const bad = rewrite.response(response([['Content-Type', 'application/json']]), {
      kind: 'close',
    }) as BodyRewriter;
    bad.write(Buffer.from('{"data":'));
    expect(() => bad.end()).toThrow(BodyRewriteError);

    const watch = maskedResponseRewrite({ fields: FIELDS, rules: ['r'] }, true).response(
      response([['Content-Type', 'application/json']]),
      { kind: 'chunked' },
    ) as BodyRewriter;
    const event = JSON.stringify({ type: 'ADDED', object: secret('a') });
    expect(watch.write(Buffer.from(event.slice(0, 20))).length).toBe(0);
    expect(watch.write(Buffer.from(`${event.slice(20)}\n`)).toString()).toContain(MASKED_BASE64);
    try {
      watch.write(Buffer.from('garbage'));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BodyRewriteError);
      expect(JSON.parse((error as BodyRewriteError).tail!.toString())).toMatchObject({
        type: 'ERROR',
        object: { kind: 'Status', code: 500 },
      });
    }
  });
});
