import type { FieldDescription } from '../backend-messages';
import type { CatalogConnection } from './catalog-connection';

export interface ColumnName {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
}

/**
 * Resolves RowDescription's (table OID, attribute number) to schema.table.column, so column rules
 * hold whatever the query calls the column. Looks up on the session's catalog connection (the
 * client's connection is busy streaming rows) and caches per session.
 */
export class ColumnCatalog {
  private readonly names = new Map<string, ColumnName | null>();

  constructor(private readonly side: CatalogConnection) {}

  lookup(field: FieldDescription): ColumnName | undefined {
    return this.names.get(key(field.tableId, field.columnId)) ?? undefined;
  }

  /** Whether every field of a row description is already resolved. */
  knows(fields: readonly FieldDescription[]): boolean {
    return fields.every((f) => f.tableId === 0 || this.names.has(key(f.tableId, f.columnId)));
  }

  async resolve(fields: readonly FieldDescription[]): Promise<void> {
    const missing = fields.filter((f) => f.tableId !== 0 && !this.names.has(key(f.tableId, f.columnId)));
    if (missing.length === 0) return;
    const tableIds = [...new Set(missing.map((f) => f.tableId >>> 0))];
    const rows = await this.side.query(
      `SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname FROM pg_catalog.pg_attribute a ` +
        `JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
        `WHERE a.attnum > 0 AND c.oid IN (${tableIds.join(',')})`,
    );
    for (const [oid, schema, table, attnum, column] of rows) {
      this.names.set(key(Number(oid), Number(attnum)), {
        schema: schema ?? '',
        table: table ?? '',
        column: column ?? '',
      });
    }
    for (const f of missing)
      if (!this.names.has(key(f.tableId, f.columnId))) this.names.set(key(f.tableId, f.columnId), null);
  }
}

function key(tableId: number, columnId: number): string {
  return `${tableId >>> 0}:${columnId}`;
}
