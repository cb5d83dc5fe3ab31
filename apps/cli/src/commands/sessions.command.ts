import { Command, Option } from 'commander';
import { printTable } from './admin/agents-list.command';
import type { ApiClient } from '../api-client';
import { runAdmin } from './admin/run-admin';
import { parseSince } from './since';
import { playRecording, type PlayFlags } from '../recording/play-recording';

interface SessionRow {
  id: string;
  state: string;
  subject: string;
  subjectName?: string;
  connection: string;
  protocol: string;
  agent: string | null;
  clientAddr: string | null;
  policyVersion: number | null;
  startedAt: string;
  endedAt: string | null;
  closeReason: string | null;
}

interface SessionDetail extends SessionRow {
  actorChain: { subject: string }[];
  recordings: {
    recording: number;
    kind: string;
    command: string | null;
    bytes: number;
    complete: boolean;
    truncated: boolean;
  }[];
  events: { seq: number; kind: string; at: string; event: Record<string, unknown> }[];
}

/** `tollgate sessions list|show|play|kill`: sessions through the gateway's REST API. */
export function sessionsCommand(): Command {
  return new Command('sessions')
    .description('list, inspect, replay and kill sessions')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addCommand(
      new Command('list')
        .alias('ls')
        .description('sessions, newest first')
        .addOption(
          new Option('--state <state>', 'only sessions in this state').choices(['opening', 'open', 'closed']),
        )
        .option(
          '--subject <who>',
          'only this person or account: a subject (user:<id>, sa:ci), an e-mail or a name',
        )
        .option('--connection <name>', 'only this connection')
        .option('--since <time>', 'only sessions started since then: 10m, 2h, 7d or an ISO 8601 time')
        .option('--limit <n>', 'at most this many', '100')
        .option('--json', 'print the API response as JSON')
        .action(
          (
            flags: {
              state?: string;
              subject?: string;
              connection?: string;
              since?: string;
              limit: string;
              json?: boolean;
            },
            command: Command,
          ) =>
            runAdmin(command, async (api: ApiClient) => {
              const query = new URLSearchParams({ limit: flags.limit });
              if (flags.state) query.set('state', flags.state);
              if (flags.subject) query.set('who', flags.subject);
              if (flags.connection) query.set('connection', flags.connection);
              if (flags.since) query.set('since', parseSince(flags.since));
              const { items } = await api.call<{ items: SessionRow[] }>(
                'GET',
                `/api/v1/sessions?${query.toString()}`,
              );
              if (flags.json) return void process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
              printTable(
                ['ID', 'STATE', 'STARTED', 'SUBJECT', 'CONNECTION', 'AGENT', 'POLICY', 'ENDED'],
                items.map((s) => [
                  s.id,
                  s.state,
                  s.startedAt,
                  personOf(s),
                  s.connection,
                  s.agent ?? '-',
                  s.policyVersion === null ? 'default' : `v${s.policyVersion}`,
                  s.endedAt ? `${s.endedAt} (${s.closeReason ?? ''})` : '-',
                ]),
              );
            }),
        ),
    )
    .addCommand(
      new Command('show')
        .description('one session and its events (open, commands with decisions, close)')
        .argument('<id>', 'session id')
        .option('--json', 'print the API response as JSON')
        .action((id: string, flags: { json?: boolean }, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const s = await api.call<SessionDetail>('GET', `/api/v1/sessions/${encodeURIComponent(id)}`);
            if (flags.json) return void process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
            const actors = s.actorChain.length
              ? ` via ${s.actorChain.map((a) => a.subject).join(' <- ')}`
              : '';
            const out = [
              `session    ${s.id} (${s.state})`,
              `subject    ${personOf(s)}${actors}`,
              `connection ${s.connection} (${s.protocol}) via agent ${s.agent ?? '-'}`,
              `client     ${s.clientAddr ?? '-'}`,
              `policy     ${s.policyVersion === null ? 'built-in default' : `version ${s.policyVersion}`}`,
              `started    ${s.startedAt}`,
              `ended      ${s.endedAt ? `${s.endedAt}: ${s.closeReason ?? ''}` : '-'}`,
              'events:',
              // When it happened (the event's own time, the agent's for a command it journaled), not
              // when the gateway stored it.
              ...s.events.map(
                (e) =>
                  `  ${e.seq} ${typeof e.event.time === 'string' ? e.event.time : e.at} ${describeEvent(e.kind, e.event)}`,
              ),
              ...(s.recordings.length
                ? [
                    'recordings (tollgate sessions play ID --recording N):',
                    ...s.recordings.map(
                      (r) =>
                        `  ${r.recording} ${r.kind}${r.command ? ` ${JSON.stringify(r.command)}` : ''} ${r.bytes} bytes${r.complete ? '' : ' (incomplete)'}${r.truncated ? ' (truncated)' : ''}`,
                    ),
                  ]
                : []),
            ];
            process.stdout.write(`${out.join('\n')}\n`);
          }),
        ),
    )
    .addCommand(
      new Command('play')
        .description(
          "replay a session's terminal recording (SSH shell or exec, Kubernetes exec) at its recorded pace, or export it (asciicast v2)",
        )
        .argument('<id>', 'session id')
        .option('--recording <n>', 'which recording of the session (sessions show lists them)', '1')
        .option('--speed <n>', 'playback speed (2 = twice as fast)', '1')
        .option('--max-idle <seconds>', 'shorten longer pauses to this')
        .option('--step', 'stepped: Enter shows the next burst of output')
        .option('--raw', 'print the asciicast v2 file instead of playing it')
        .option('--output <file>', 'write the asciicast v2 file (for asciinema play) instead of playing it')
        .action((id: string, flags: PlayFlags, command: Command) =>
          runAdmin(command, (api: ApiClient) => playRecording(api, id, flags)),
        ),
    )
    .addCommand(
      new Command('kill')
        .description('end a live session: its client and target connections close')
        .argument('<id>', 'session id')
        .action((id: string, _flags: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const answer = await api.call<{ killed?: boolean; detail?: string } | undefined>(
              'POST',
              `/api/v1/sessions/${encodeURIComponent(id)}/kill`,
            );
            // A session nobody relays any more is not killed but closed as lost: say so.
            process.stdout.write(
              answer?.killed === false
                ? `session ${id}: ${answer.detail ?? 'closed as lost'}\n`
                : `session ${id} killed\n`,
            );
          }),
        ),
    );
}

/** A person by e-mail (or name) with the id beside it; accounts name themselves. */
function personOf(s: { subject: string; subjectName?: string }): string {
  return s.subjectName ? `${s.subjectName} (${s.subject})` : s.subject;
}

function describeEvent(kind: string, event: Record<string, unknown>): string {
  const text = (key: string) => (typeof event[key] === 'string' ? event[key] : '');
  switch (kind) {
    case 'command':
      return `command ${text('decision').toUpperCase()} ${JSON.stringify(text('command'))}${text('rule') ? ` (rule ${text('rule')})` : ''}`;
    case 'command.result': {
      const number = (key: string) => (typeof event[key] === 'number' ? event[key] : 0);
      const masked =
        Array.isArray(event['masked']) && event['masked'].length
          ? ` masked ${event['masked'].join(',')}`
          : '';
      const outcome = text('error')
        ? `ERROR ${JSON.stringify(text('error'))}`
        : `${number('rows')} rows, ${number('bytes')} bytes`;
      const truncated = Array.isArray(event['bodyTruncated']) ? (event['bodyTruncated'] as unknown[]) : [];
      // Bodies as JSON strings, like the command: a newline or a terminal control in one stays inert.
      const body = (which: 'request' | 'response') =>
        text(`${which}Body`)
          ? [
              `      ${which} body${truncated.includes(which) ? ' (first bytes)' : ''}: ${JSON.stringify(text(`${which}Body`))}`,
            ]
          : [];
      const notes = Array.isArray(event['bodyNotes'])
        ? event['bodyNotes'].map((note) => `      ${JSON.stringify(note)}`)
        : [];
      return [
        `result  ${JSON.stringify(text('command'))}: ${outcome} in ${number('durationMs')} ms${masked}`,
        ...body('request'),
        ...body('response'),
        ...notes,
      ].join('\n');
    }
    case 'session.recording':
      return `recording ${String(event['recording'])} ${text('kind')}${text('command') ? ` ${JSON.stringify(text('command'))}` : ''}: ${String(event['bytes'])} bytes${event['truncated'] === true ? ' (truncated)' : ''}, sha256 ${text('sha256')} (tollgate sessions play)`;
    case 'session.cancel':
      return `session.cancel: cancel request from ${text('source')}`;
    case 'session.close':
      return `session.close ${text('reason')}${text('detail') ? `: ${text('detail')}` : ''}`;
    default:
      return kind;
  }
}
