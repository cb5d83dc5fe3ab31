import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAsciicast } from '@tollgate/audit';
import type { ApiClient } from '../api-client';
import { playAsciicast } from './asciicast-player';

export interface PlayFlags {
  readonly recording: string;
  readonly speed: string;
  readonly maxIdle?: string;
  readonly step?: boolean;
  readonly raw?: boolean;
  readonly output?: string;
}

/**
 * `tollgate sessions play ID`: fetches a session's recording and replays it on this terminal, or
 * writes the asciicast file as stored (`--raw` to stdout, `--output FILE`), e.g. for asciinema.
 */
export async function playRecording(api: ApiClient, id: string, flags: PlayFlags): Promise<void> {
  const n = positiveNumber(flags.recording, '--recording', true);
  const speed = positiveNumber(flags.speed, '--speed');
  const maxIdle = flags.maxIdle === undefined ? undefined : positiveNumber(flags.maxIdle, '--max-idle');
  const text = await api.text(`/api/v1/sessions/${encodeURIComponent(id)}/recording?n=${n}`);
  if (flags.output) {
    writeFileSync(flags.output, text);
    process.stderr.write(`recording ${n} of session ${id} written to ${flags.output}\n`);
    return;
  }
  if (flags.raw) return void process.stdout.write(text);
  const parsed = parseAsciicast(text);
  if (!parsed.ok)
    throw new Error(`the recording is not valid asciicast v2 (line ${parsed.line}: ${parsed.message})`);
  const columns = process.stdout.columns;
  if (process.stdout.isTTY && columns && columns < parsed.header.width) {
    process.stderr.write(
      `tollgate: the recording is ${parsed.header.width} columns wide and this terminal ${columns}: lines may wrap\n`,
    );
  }
  const lines = flags.step ? createInterface({ input: process.stdin, terminal: false }) : undefined;
  const enter = lines?.[Symbol.asyncIterator]();
  try {
    await playAsciicast(parsed.events, {
      speed,
      ...(maxIdle !== undefined ? { maxIdle } : {}),
      step: flags.step === true,
      write: (data) => process.stdout.write(data),
      sleep: (ms) => sleep(ms),
      next: async () => !(await enter!.next()).done,
    });
  } finally {
    lines?.close();
  }
}

function positiveNumber(value: string, flag: string, integer = false): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (integer && !Number.isInteger(number))) {
    throw new Error(`${flag} expects a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  }
  return number;
}
