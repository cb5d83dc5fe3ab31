import type { TerminalRecording } from '@tollgate/audit';
import type { CommandFacts } from '@tollgate/policy';
import {
  headerValue,
  requestsUpgrade,
  type HttpHeader,
  type RequestHead,
  type ResponseHead,
  type StreamTap,
} from '@tollgate/protocol-http';
import type { RecordingStart } from '@tollgate/protocol-tcp';
import { WebSocketFrameReader, type WebSocketMessageEvent } from './websocket-frame.reader';
import { kubernetesQuery } from '../request-info';

/**
 * The WebSocket subprotocols of exec and attach whose messages are binary with the channel in the
 * first byte (kubectl 1.30 and later offer v5 and v4). The base64 variants are not offered on.
 */
const BINARY_CHANNEL_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
/** The API server's last word on an exec: its exit status. */
const STATUS = 3;
const RESIZE = 4;
/** A resize message is a small JSON object; anything longer is not one. */
const MAX_RESIZE_BYTES = 1024;

/**
 * Records a Kubernetes exec or attach (asciicast v2, like an SSH session): what the container
 * printed on stdout and stderr, what the user typed when the stream has a TTY (stdin without one is
 * data, as an SSH exec's is), and terminal resizes. It reads the WebSocket channel protocol
 * (v5/v4.channel.k8s.io) in both directions without changing a byte; compression is not offered, and
 * SPDY (kubectl's fallback before 1.30), which it cannot read, is refused, so no exec goes
 * unrecorded. undefined for requests that are not an exec or attach.
 */
export function execRecordingTap(
  facts: CommandFacts,
  head: RequestHead,
  record: (start: RecordingStart) => TerminalRecording,
  cut: () => void,
): StreamTap | string | undefined {
  if (facts.kind !== 'kubernetes' || (facts.verb !== 'exec' && facts.verb !== 'attach')) return undefined;
  // Not an upgrade: the API server answers it with an error, and nothing streams.
  if (!requestsUpgrade(head)) return undefined;
  const upgrade = headerValue(head.headers, 'upgrade')?.toLowerCase() ?? '';
  if (upgrade !== 'websocket') {
    return `${facts.verb} over ${headerValue(head.headers, 'upgrade')} cannot be recorded; use kubectl 1.30 or later (WebSocket, v5.channel.k8s.io)`;
  }
  const offered = headerValue(head.headers, 'sec-websocket-protocol') ?? '';
  const protocols = offered
    .split(',')
    .map((p) => p.trim())
    .filter((p) => BINARY_CHANNEL_PROTOCOLS.includes(p));
  if (protocols.length === 0) {
    return `${facts.verb} is recorded, which needs one of the subprotocols ${BINARY_CHANNEL_PROTOCOLS.slice(0, 2).join(', ')}; offered: ${offered || 'none'}`;
  }
  // Read as the API server reads it, so the recording names the command that runs (Go drops a
  // `command=-rf;` pair that other parsers keep) and a TTY where there is one.
  const query = head.target.includes('?') ? head.target.slice(head.target.indexOf('?') + 1) : '';
  const params = kubernetesQuery(query);
  if (typeof params === 'string')
    return `${facts.verb} cannot be recorded as the API server runs it: ${params}`;
  // kube-apiserver reads the first value, anything but 0 and false as true.
  const ttyValue = params.get('tty')?.[0];
  const tty = ttyValue !== undefined && !/^(?:0|false)$/i.test(ttyValue);
  const container = params.get('container')?.[0];
  const command =
    facts.verb === 'exec'
      ? (params.get('command') ?? []).join(' ')
      : `attach ${facts.namespace ?? ''}/${facts.name ?? ''}${container ? ` -c ${container}` : ''}`;
  let recording: TerminalRecording | undefined;
  const channels = (
    onMessage: (channel: number, bytes: Buffer) => void,
    onEnd: (channel: number) => void,
  ) => {
    let channel: number | undefined;
    let awaiting = false;
    return new WebSocketFrameReader((event: WebSocketMessageEvent) => {
      if (event.type === 'start') {
        awaiting = true;
        channel = undefined;
      } else if (event.type === 'data') {
        let bytes = event.bytes;
        if (awaiting && bytes.length > 0) {
          channel = bytes[0];
          awaiting = false;
          bytes = bytes.subarray(1);
        }
        if (channel !== undefined && bytes.length > 0) onMessage(channel, bytes);
      } else if (channel !== undefined) {
        onEnd(channel);
      }
    });
  };
  let resize: Buffer[] = [];
  let resizeBytes = 0;
  const fromClient = channels(
    (channel, bytes) => {
      if (channel === STDIN && tty) recording?.onInput(bytes);
      if (channel === RESIZE) {
        resizeBytes += bytes.length;
        if (resizeBytes > MAX_RESIZE_BYTES) throw new Error('a resize message is too long');
        resize.push(bytes);
      }
    },
    (channel) => {
      if (channel !== RESIZE) return;
      const size = JSON.parse(Buffer.concat(resize).toString('utf8')) as {
        Width?: unknown;
        Height?: unknown;
      };
      resize = [];
      resizeBytes = 0;
      if (
        typeof size.Width === 'number' &&
        typeof size.Height === 'number' &&
        size.Width > 0 &&
        size.Height > 0
      ) {
        recording?.onResize(size.Width, size.Height);
      }
    },
  );
  const fromTarget = channels(
    (channel, bytes) => {
      if (channel === STDOUT || channel === STDERR) recording?.onOutput(bytes);
    },
    // The exec ended: its recording is complete, and its last chunk goes up the session's stream
    // ahead of the status, before the client can close the session.
    (channel) => {
      if (channel === STATUS) recording?.end();
    },
  );
  return {
    // Only WebSocket is offered on: the caller may add `Upgrade: SPDY/3.1`, and the API server reads
    // Upgrade with Header.Get (`websocket, SPDY/3.1` is not WebSocket to it) while its SPDY upgrader
    // takes any Upgrade that contains spdy/3.1, a stream this tap cannot read.
    request: (forwarded: RequestHead): RequestHead => {
      const headers: HttpHeader[] = forwarded.headers.filter(([name]) => {
        const lower = name.toLowerCase();
        return (
          lower !== 'sec-websocket-protocol' && lower !== 'sec-websocket-extensions' && lower !== 'upgrade'
        );
      });
      headers.push(['Upgrade', 'websocket'], ['Sec-WebSocket-Protocol', protocols.join(', ')]);
      return { ...forwarded, headers };
    },
    switched: (response: ResponseHead) => {
      const to = headerValue(response.headers, 'upgrade')?.trim().toLowerCase();
      if (to !== 'websocket') {
        return `the API server switched to ${to || 'an unnamed protocol'}, not WebSocket, which cannot be recorded`;
      }
      const chosen = headerValue(response.headers, 'sec-websocket-protocol')?.trim() ?? '';
      if (!protocols.includes(chosen)) {
        return `the API server chose the subprotocol ${chosen || '(none)'}, which cannot be recorded`;
      }
      if (headerValue(response.headers, 'sec-websocket-extensions')) {
        return 'the API server chose a WebSocket extension, which cannot be recorded';
      }
      recording = record({
        kind: 'exec',
        command,
        width: 80,
        height: 24,
        onRefused: () => cut(),
      });
      return undefined;
    },
    fromClient: (bytes) => fromClient.push(bytes),
    fromTarget: (bytes) => fromTarget.push(bytes),
    end: () => recording?.end(),
  };
}
