// Jobs.tsx - dead jobs; retry.
import { api } from '../api';
import { useKeyset } from '../hooks';
import { ErrorNote, useAction, when } from '../ui';
import { Table } from './Table';

interface Job {
  id: number;
  type: string;
  attempts: number;
  last_error: string | null;
  updated_at: string;
}

export default function Jobs() {
  const list = useKeyset<Job>('/backoffice/v1/jobs?status=dead');
  const act = useAction();
  return (
    <section>
      <h1>Jobs mortos</h1>
      <ErrorNote error={act.error} />
      <Table
        rows={list.items}
        error={list.error}
        loading={list.loading}
        hasMore={list.hasMore}
        onMore={list.loadMore}
        empty="Nenhum job morto."
        columns={[
          { title: 'Job', cell: (j) => `#${j.id} ${j.type}` },
          { title: 'Tentativas', cell: (j) => j.attempts },
          { title: 'Último erro', cell: (j) => j.last_error ?? '—' },
          { title: 'Atualizado', cell: (j) => when(j.updated_at) },
          {
            title: 'Ações',
            cell: (j) => (
              <button type="button" disabled={act.busy} onClick={() => void act.run(async () => { await api('POST', `/backoffice/v1/jobs/${j.id}/retry`, {}); list.reload(); })}>
                Tentar de novo
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}
