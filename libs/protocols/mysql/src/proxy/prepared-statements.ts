import type { ColumnDefinition } from '../column-definition';

export interface PreparedStatement {
  readonly id: number;
  readonly text: string;
  /** The result columns, from the PREPARE reply and updated by each EXECUTE (binary rows need them). */
  columns: readonly ColumnDefinition[];
}

/** Statements this session prepared through the proxy (COM_STMT_PREPARE), by the server's id. */
export class PreparedStatements {
  private readonly byId = new Map<number, PreparedStatement>();
  last: number | undefined;

  add(id: number, text: string, columns: readonly ColumnDefinition[]): void {
    this.byId.set(id, { id, text, columns });
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
