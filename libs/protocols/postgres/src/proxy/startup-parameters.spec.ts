import { describe, expect, it } from 'vitest';
import { readStartupParameters } from './startup-parameters';
import { TargetConnectError } from './target-connect.error';

const settingsOf = (parameters: Record<string, string>) =>
  Object.fromEntries(readStartupParameters(parameters).settings);

describe('readStartupParameters', () => {
  it('forwards what psql and pg_regress send, case-insensitively, options included', () => {
    expect(
      settingsOf({
        user: 'me',
        database: 'app',
        application_name: 'pg_regress',
        datestyle: 'Postgres, MDY',
        timezone: 'America/Los_Angeles',
        options: '-c intervalstyle=postgres_verbose',
        client_encoding: 'UTF8',
      }),
    ).toEqual({
      intervalstyle: 'postgres_verbose',
      application_name: 'pg_regress',
      datestyle: 'Postgres, MDY',
      timezone: 'America/Los_Angeles',
      client_encoding: 'UTF8',
    });
    // JDBC and friends spell them with capitals.
    expect(settingsOf({ DateStyle: 'ISO', TimeZone: 'UTC', IntervalStyle: 'iso_8601' })).toEqual({
      datestyle: 'ISO',
      timezone: 'UTC',
      intervalstyle: 'iso_8601',
    });
  });

  it('needs no decision for presentation settings', () => {
    expect(readStartupParameters({ datestyle: 'ISO', options: '-c intervalstyle=iso_8601' }).command).toBe(
      undefined,
    );
  });

  it('reads options as the server does: -c name=value, -cname=value, --name=value, escapes; parameters win', () => {
    expect(
      settingsOf({
        options:
          '  -c work_mem=64MB   -cstatement_timeout=5s --geqo=off -c search_path=a\\,\\ b --lock-timeout=1s ',
        statement_timeout: '9s',
      }),
    ).toEqual({
      work_mem: '64MB',
      geqo: 'off',
      search_path: 'a, b',
      lock_timeout: '1s',
      statement_timeout: '9s',
    });
  });

  it('asks for a decision on everything beyond presentation, as the SET it amounts to', () => {
    const request = readStartupParameters({
      options: '-c search_path=evil,pg_catalog -c work_mem=1MB',
      role: 'admin',
    });
    expect(request.command?.text).toBe(
      "/* start-up parameters */ SET search_path TO 'evil,pg_catalog'; SET work_mem TO '1MB'; SET role TO 'admin'",
    );
    expect(request.command?.classification).toEqual({
      ok: true,
      statements: [
        { type: 'SET', tables: [], hasWhere: false, readOnly: false, opaque: ['CODE SETTING'] },
        { type: 'SET', tables: [], hasWhere: false, readOnly: false },
        { type: 'SET', tables: [], hasWhere: false, readOnly: false },
      ],
    });
    expect(readStartupParameters({ local_preload_libraries: 'x' }).command?.classification).toMatchObject({
      statements: [{ opaque: ['CODE SETTING'] }],
    });
  });

  it('never forwards what the proxy owns', () => {
    expect(
      settingsOf({
        user: 'x',
        USER: 'y',
        database: 'z',
        Database: 'w',
        replication: 'false',
        '_pq_.foo': '1',
      }),
    ).toEqual({});
  });

  it('refuses replication connections and options it cannot read, with the SQLSTATE the client sees', () => {
    const refusal = (parameters: Record<string, string>) => {
      try {
        readStartupParameters(parameters);
      } catch (error) {
        if (error instanceof TargetConnectError) return [error.sqlState, error.message];
      }
      return undefined;
    };
    expect(refusal({ replication: 'database' })).toEqual([
      '0A000',
      'replication connections are not supported through Tollgate',
    ]);
    expect(refusal({ REPLICATION: 'true' })?.[0]).toBe('0A000');
    expect(refusal({ options: '-e' })).toEqual([
      '22023',
      'start-up option "-e" is not supported through Tollgate (use -c name=value)',
    ]);
    expect(refusal({ options: '-c' })?.[1]).toBe('start-up option "-c" needs name=value');
    expect(refusal({ options: '-c work_mem' })?.[1]).toBe('start-up option "-c" needs name=value');
    expect(refusal({ options: '--=x' })?.[0]).toBe('22023');
    // Parameters that are not settings, set through options: `options` would be read again, undecided.
    expect(refusal({ options: '-c options=-c\\ search_path=evil,pg_catalog' })).toEqual([
      '22023',
      'start-up option "-c options=..." sets options, which is not a setting',
    ]);
    for (const name of ['user', 'Database', 'replication', '_pq_.x'])
      expect(refusal({ options: `--${name}=x` })?.[0]).toBe('22023');
  });
});
