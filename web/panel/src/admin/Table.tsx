// Table.tsx - the back-office lists: columns as data, keyset "load more".
import type { ReactNode } from 'react';
import { ErrorNote } from '../ui';

export interface Column<T> {
  title: string;
  cell: (row: T) => ReactNode;
}

export function Table<T extends { id: string | number }>({
  rows,
  columns,
  error,
  loading,
  hasMore,
  onMore,
  empty = 'Nada encontrado.',
}: {
  rows: T[];
  columns: Column<T>[];
  error?: unknown;
  loading?: boolean;
  hasMore?: boolean;
  onMore?: () => void;
  empty?: string;
}) {
  return (
    <>
      <ErrorNote error={error} />
      <table aria-busy={loading}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.title}>{c.title}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              {columns.map((c) => (
                <td key={c.title}>{c.cell(r)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && rows.length === 0 && <p>{empty}</p>}
      {hasMore && (
        <button type="button" onClick={onMore} disabled={loading}>
          Carregar mais
        </button>
      )}
    </>
  );
}
