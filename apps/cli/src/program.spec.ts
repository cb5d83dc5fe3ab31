import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, misplacedCommand } from './program';

function* walk(command: Command, path: string[] = []): Generator<{ path: string; command: Command }> {
  for (const sub of command.commands) {
    const here = [...path, sub.name()];
    yield { path: here.join(' '), command: sub };
    yield* walk(sub, here);
  }
}

describe('tollgate command tree', () => {
  it('answers `ls` wherever it has a `list` (tollgate sessions ls, admin connections ls, ...)', () => {
    const lists = [...walk(buildProgram())].filter(({ command }) => command.name() === 'list');
    expect(lists.map(({ path }) => path)).toEqual(
      expect.arrayContaining(['sessions list', 'admin connections list', 'admin agents list']),
    );
    for (const { path, command } of lists) expect(command.aliases(), path).toContain('ls');
  });

  it('has no two subcommands of one command answering to the same name', () => {
    for (const { path, command } of [
      { path: 'tollgate', command: buildProgram() },
      ...walk(buildProgram()),
    ]) {
      const names = command.commands.flatMap((sub) => [sub.name(), ...sub.aliases()]);
      expect(new Set(names).size, path).toBe(names.length);
    }
  });

  it('points a command typed without its parent at its whole path (tollgate policy show → tollgate admin policy show)', () => {
    const program = buildProgram();
    expect(misplacedCommand(program, ['policy', 'show'])).toBe('tollgate admin policy show');
    expect(misplacedCommand(program, ['connections', 'create', 'pg'])).toBe(
      'tollgate admin connections create pg',
    );
    expect(misplacedCommand(program, ['apply', '-f', 'x.yaml'])).toBe('tollgate admin apply -f x.yaml');
    // A command of its own, an option, help, a word nothing answers to, or one several parents have.
    for (const args of [['sessions', 'list'], ['--help'], ['help'], ['nonsense'], ['list'], []]) {
      expect(misplacedCommand(program, args), args.join(' ')).toBeUndefined();
    }
  });
});
