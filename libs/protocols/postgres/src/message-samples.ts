import type { BackendMessage } from './backend-messages';
import type { FrontendMessage, StartupPacket } from './frontend-messages';

/** One sample of every message, keyed by name so a new message type without a sample fails to compile. */
export const backendSamples: { [N in BackendMessage['name']]: Extract<BackendMessage, { name: N }>[] } = {
  authenticationOk: [{ name: 'authenticationOk' }],
  authenticationCleartextPassword: [{ name: 'authenticationCleartextPassword' }],
  authenticationMD5Password: [{ name: 'authenticationMD5Password', salt: Buffer.from([1, 2, 3, 0]) }],
  authenticationSASL: [{ name: 'authenticationSASL', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'] }],
  authenticationSASLContinue: [
    { name: 'authenticationSASLContinue', data: Buffer.from('r=abc,s=c2FsdA==,i=4096') },
  ],
  authenticationSASLFinal: [{ name: 'authenticationSASLFinal', data: Buffer.from('v=c2lnbmF0dXJl') }],
  authenticationOther: [{ name: 'authenticationOther', code: 7, data: Buffer.alloc(0) }],
  backendKeyData: [{ name: 'backendKeyData', processId: 4242, secretKey: -123456789 }],
  bindComplete: [{ name: 'bindComplete' }],
  closeComplete: [{ name: 'closeComplete' }],
  commandComplete: [{ name: 'commandComplete', tag: 'SELECT 3' }],
  copyData: [{ name: 'copyData', data: Buffer.from('1\tálvaro\t\\N\n') }],
  copyDone: [{ name: 'copyDone' }],
  copyInResponse: [{ name: 'copyInResponse', format: 0, columnFormats: [0, 0] }],
  copyOutResponse: [{ name: 'copyOutResponse', format: 1, columnFormats: [1, 1, 1] }],
  copyBothResponse: [{ name: 'copyBothResponse', format: 0, columnFormats: [] }],
  dataRow: [
    { name: 'dataRow', values: [Buffer.from('1'), null, Buffer.alloc(0), Buffer.from([0, 255, 0])] },
    { name: 'dataRow', values: [] },
  ],
  emptyQueryResponse: [{ name: 'emptyQueryResponse' }],
  errorResponse: [
    {
      name: 'errorResponse',
      fields: { S: 'ERROR', V: 'ERROR', C: '42P01', M: 'relation "nope" does not exist', P: '15' },
    },
  ],
  functionCallResponse: [
    { name: 'functionCallResponse', value: Buffer.from('x') },
    { name: 'functionCallResponse', value: null },
  ],
  negotiateProtocolVersion: [
    { name: 'negotiateProtocolVersion', newestMinorVersion: 0, unrecognizedOptions: ['_pq_.x'] },
  ],
  noData: [{ name: 'noData' }],
  noticeResponse: [
    { name: 'noticeResponse', fields: { S: 'NOTICE', C: '00000', M: 'waiting for approval' } },
  ],
  notificationResponse: [
    { name: 'notificationResponse', processId: 7, channel: 'jobs', payload: '{"id":1}' },
  ],
  parameterDescription: [{ name: 'parameterDescription', dataTypeIds: [23, 25, 4294967295] }],
  parameterStatus: [{ name: 'parameterStatus', parameter: 'server_version', value: '15.19' }],
  parseComplete: [{ name: 'parseComplete' }],
  portalSuspended: [{ name: 'portalSuspended' }],
  readyForQuery: [
    { name: 'readyForQuery', status: 'I' },
    { name: 'readyForQuery', status: 'E' },
  ],
  rowDescription: [
    {
      name: 'rowDescription',
      fields: [
        {
          name: 'id',
          tableId: 16384,
          columnId: 1,
          dataTypeId: 23,
          dataTypeSize: 4,
          dataTypeModifier: -1,
          format: 0,
        },
        {
          name: 'émail',
          tableId: 0,
          columnId: 0,
          dataTypeId: 25,
          dataTypeSize: -1,
          dataTypeModifier: -1,
          format: 1,
        },
      ],
    },
  ],
};

export const startupSamples: StartupPacket[] = [
  { name: 'sslRequest' },
  { name: 'gssEncRequest' },
  {
    name: 'startupMessage',
    protocolVersion: 196608,
    parameters: { user: 'alice', database: 'app', application_name: 'psql' },
  },
];

export const frontendSamples: { [N in FrontendMessage['name']]: Extract<FrontendMessage, { name: N }>[] } = {
  query: [{ name: 'query', text: "SELECT 1; SELECT 'ü'" }],
  parse: [{ name: 'parse', statement: 's1', text: 'SELECT $1::int', parameterTypeIds: [23] }],
  bind: [
    {
      name: 'bind',
      portal: '',
      statement: 's1',
      parameterFormats: [0],
      parameters: [Buffer.from('42'), null],
      resultFormats: [1],
    },
  ],
  describe: [
    { name: 'describe', target: 'S', objectName: 's1' },
    { name: 'describe', target: 'P', objectName: '' },
  ],
  execute: [{ name: 'execute', portal: '', maxRows: 0 }],
  sync: [{ name: 'sync' }],
  flush: [{ name: 'flush' }],
  close: [{ name: 'close', target: 'P', objectName: 'p1' }],
  terminate: [{ name: 'terminate' }],
  copyData: [{ name: 'copyData', data: Buffer.from('a,b\n') }],
  copyDone: [{ name: 'copyDone' }],
  copyFail: [{ name: 'copyFail', message: 'aborted by user' }],
  authenticationResponse: [{ name: 'authenticationResponse', data: Buffer.from('secret\0') }],
  functionCall: [
    {
      name: 'functionCall',
      functionId: 1598,
      argumentFormats: [1],
      arguments: [Buffer.from([0, 0, 0, 1])],
      resultFormat: 1,
    },
  ],
};
