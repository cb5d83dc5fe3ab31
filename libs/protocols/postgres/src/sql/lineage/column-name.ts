import { list, names, text, unwrap, type Node } from '../ast';

/**
 * The name PostgreSQL gives a result column written without AS (parse_target.c FigureColname):
 * what a query around it uses to refer to it. A name got wrong here only makes a reference
 * unresolvable, which the analysis treats as untraced (masked), never as clear.
 */
export function columnName(node: unknown): string {
  return figure(node) ?? '?column?';
}

function figure(node: unknown): string | undefined {
  const unwrapped = unwrap(node);
  if (!unwrapped) return undefined;
  const [kind, body] = unwrapped;
  switch (kind) {
    case 'ColumnRef': {
      const last = list(body['fields']).at(-1);
      return last?.['String'] ? names([last])[0] : undefined;
    }
    case 'A_Indirection': {
      const last = list(body['indirection']).at(-1);
      return last?.['String'] ? names([last])[0] : figure(body['arg']);
    }
    case 'FuncCall':
      return names(body['funcname']).at(-1);
    case 'TypeCast':
      return figure(body['arg']) ?? names((body['typeName'] as Node | undefined)?.['names']).at(-1);
    case 'CollateClause':
      return figure(body['arg']);
    case 'A_ArrayExpr':
      return 'array';
    case 'RowExpr':
      return 'row';
    case 'CoalesceExpr':
      return 'coalesce';
    case 'NullIfExpr':
      return 'nullif';
    case 'MinMaxExpr':
      return text(body['op']) === 'IS_GREATEST' ? 'greatest' : 'least';
    case 'CaseExpr':
      return figure(body['defresult']) ?? 'case';
    case 'SQLValueFunction':
      return sqlValueFunction(text(body['op']));
    case 'SubLink': {
      const type = text(body['subLinkType']);
      if (type === 'EXISTS_SUBLINK') return 'exists';
      if (type === 'ARRAY_SUBLINK') return 'array';
      if (type !== 'EXPR_SUBLINK') return undefined;
      const select = (body['subselect'] as Node | undefined)?.['SelectStmt'] as Node | undefined;
      const [first] = list(select?.['targetList']);
      const res = first?.['ResTarget'] as Node | undefined;
      return res ? text(res['name']) || figure(res['val']) : undefined;
    }
    case 'XmlExpr':
      return xmlName(text(body['op']));
    case 'GroupingFunc':
      return 'grouping';
    default:
      return undefined;
  }
}

function sqlValueFunction(op: string): string | undefined {
  return (
    op
      .replace(/^SVFOP_/, '')
      .replace(/_N$/, '')
      .toLowerCase() || undefined
  );
}

function xmlName(op: string): string | undefined {
  const name = op.replace(/^IS_/, '').toLowerCase();
  return name === 'document' ? undefined : name;
}
