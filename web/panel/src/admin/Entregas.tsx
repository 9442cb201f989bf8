// Entregas.tsx - failed webhook deliveries; resend.
import { api } from '../api';
import { useKeyset } from '../hooks';
import { ErrorNote, useAction, when } from '../ui';
import { Table } from './Table';

interface Delivery {
  id: string;
  url: string;
  event: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  updated_at: string;
}

export default function Entregas() {
  const list = useKeyset<Delivery>('/backoffice/v1/webhook-deliveries?status=failed');
  const act = useAction();
  return (
    <section>
      <h1>Entregas de webhook com falha</h1>
      <ErrorNote error={act.error} />
      <Table
        rows={list.items}
        error={list.error}
        loading={list.loading}
        hasMore={list.hasMore}
        onMore={list.loadMore}
        empty="Nenhuma entrega com falha."
        columns={[
          { title: 'Destino', cell: (d) => d.url },
          { title: 'Evento', cell: (d) => d.event },
          { title: 'Tentativas', cell: (d) => d.attempts },
          { title: 'Resposta', cell: (d) => d.last_status_code ?? d.last_error ?? '—' },
          { title: 'Atualizado', cell: (d) => when(d.updated_at) },
          {
            title: 'Ações',
            cell: (d) => (
              <button type="button" disabled={act.busy} onClick={() => void act.run(async () => { await api('POST', `/backoffice/v1/webhook-deliveries/${d.id}/resend`, {}); list.reload(); })}>
                Reenviar
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}
