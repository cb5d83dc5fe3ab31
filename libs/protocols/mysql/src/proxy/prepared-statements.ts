import type { ColumnDefinition } from '../column-definition';
import type { StatementLineage } from '../sql/lineage/lineage.types';

export interface PreparedStatement {
  readonly id: number;
  readonly text: string;
  /** The session's current database when it was prepared: what its unqualified tables are. */
  readonly database?: string;
  /** The lineage of what its last EXECUTE ran (the rows a cursor's FETCH returns). */
  lineage?: StatementLineage;
  /** The result columns, from the PREPARE reply and updated by each EXECUTE (binary rows need them). */
  columns: readonly ColumnDefinition[];
}

/** Statements this session prepared through the proxy (COM_STMT_PREPARE), by the server's id. */
export class PreparedStatements {
  private readonly byId = new Map<number, PreparedStatement>();
  last: number | undefined;

  add(id: number, text: string, columns: readonly ColumnDefinition[], database?: string): void {
    this.byId.set(id, { id, text, columns, ...(database !== undefined ? { database } : {}) });
    this.last = id;
  }

  get(id: number): PreparedStatement | undefined {
    return this.byId.get(id);
  }

  delete(id: number): void {
    this.byId.delete(id);
    if (this.last === id) this.last = undefined;
  }

  clear(): void {
    this.byId.clear();
    this.last = undefined;
  }
}
