import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { printTable } from './admin/agents-list.command';
import type { ApiClient } from '../api-client';
import { runAdmin } from './admin/run-admin';

export interface SshKeyRow {
  id: string;
  name: string;
  subject: string;
  algorithm: string;
  fingerprint: string;
  publicKey: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export async function listSshKeys(api: ApiClient): Promise<SshKeyRow[]> {
  return (await api.call<{ items: SshKeyRow[] }>('GET', '/api/v1/ssh-keys')).items;
}

/** The key's id: given as is, or found by its fingerprint among the keys the caller sees. */
async function keyId(api: ApiClient, idOrFingerprint: string): Promise<string> {
  if (!idOrFingerprint.startsWith('SHA256:')) return idOrFingerprint;
  const wanted = idOrFingerprint.replace(/=+$/, '');
  const found = (await listSshKeys(api)).find((key) => key.fingerprint === wanted);
  if (!found) throw new Error(`no SSH key with fingerprint ${wanted} (see \`tollgate ssh-keys list\`)`);
  return found.id;
}

function readPublicKey(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/**
 * `tollgate ssh-keys ...`: the OpenSSH public keys you log in with at the gateway's SSH listener
 * (`ssh -i KEY -p 8022 CONNECTION@gateway`), instead of a token as password.
 */
export function sshKeysCommand(): Command {
  return new Command('ssh-keys')
    .description(
      'register, list and remove your SSH public keys (public-key login at the gateway SSH listener)',
    )
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addCommand(
      new Command('add')
        .description('register a public key (the .pub file; - reads standard input)')
        .argument('<file>', 'OpenSSH public key file, e.g. ~/.ssh/id_ed25519.pub')
        .option('--name <name>', "what the key is (default: the key's comment)")
        .action((file: string, flags: { name?: string }, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const publicKey = readPublicKey(file);
            const key = await api.call<SshKeyRow>('POST', '/api/v1/ssh-keys', {
              publicKey,
              ...(flags.name ? { name: flags.name } : {}),
            });
            process.stdout.write(
              `SSH key "${key.name}" registered: ${key.algorithm} ${key.fingerprint} (id ${key.id})\n`,
            );
          }),
        ),
    )
    .addCommand(
      new Command('list')
        .alias('ls')
        .description('list your SSH keys (every user’s for admins)')
        .action((_f: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const items = await listSshKeys(api);
            printTable(
              ['ID', 'NAME', 'TYPE', 'FINGERPRINT', 'SUBJECT', 'ADDED', 'LAST USED'],
              items.map((k) => [
                k.id,
                k.name,
                k.algorithm,
                k.fingerprint,
                k.subject,
                k.createdAt,
                k.lastUsedAt ?? '-',
              ]),
            );
          }),
        ),
    )
    .addCommand(
      new Command('remove')
        .description('remove (revoke) an SSH key by its id or SHA256 fingerprint; its live sessions end')
        .argument('<key>', 'id or SHA256:... fingerprint')
        .action((key: string, _f: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const id = await keyId(api, key);
            await api.call('DELETE', `/api/v1/ssh-keys/${encodeURIComponent(id)}`);
            process.stdout.write(`SSH key ${key} removed\n`);
          }),
        ),
    );
}
