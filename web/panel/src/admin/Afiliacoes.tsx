// Afiliacoes.tsx - affiliations: approve or refuse.
import { useMemo, useState } from 'react';
import { api, qs } from '../api';
import { useKeyset } from '../hooks';
import { ErrorNote, Select, useAction, when } from '../ui';
import { Table } from './Table';

interface Affiliation {
  id: string;
  product_name: string;
  affiliate_email: string;
  status: string;
  commission_bps: number;
  created_at: string;
}

const STATUSES: [string, string][] = [
  ['pending', 'Pendentes'],
  ['approved', 'Aprovadas'],
  ['rejected', 'Recusadas'],
  ['', 'Todas'],
];

export default function Afiliacoes() {
  const [status, setStatus] = useState('pending');
  const list = useKeyset<Affiliation>(useMemo(() => '/backoffice/v1/affiliations' + qs({ status }), [status]));
  const act = useAction();
  const decide = (id: string, what: string) => act.run(async () => { await api('POST', `/backoffice/v1/affiliations/${id}/${what}`, {}); list.reload(); });
  return (
    <section>
      <h1>Afiliações</h1>
      <Select label="Situação" name="status" options={STATUSES} value={status} onChange={(e) => setStatus(e.target.value)} error={list.error} />
      <ErrorNote error={act.error} />
      <Table
        rows={list.items}
        error={list.error}
        loading={list.loading}
        hasMore={list.hasMore}
        onMore={list.loadMore}
        columns={[
          { title: 'Produto', cell: (a) => a.product_name },
          { title: 'Afiliado', cell: (a) => a.affiliate_email },
          { title: 'Comissão', cell: (a) => `${a.commission_bps / 100}%` },
          { title: 'Situação', cell: (a) => STATUSES.find((s) => s[0] === a.status)?.[1] ?? a.status },
          { title: 'Pedido em', cell: (a) => when(a.created_at) },
          {
            title: 'Ações',
            cell: (a) =>
              a.status === 'pending' && (
                <>
                  <button type="button" disabled={act.busy} onClick={() => void decide(a.id, 'approve')}>
                    Aprovar
                  </button>{' '}
                  <button type="button" disabled={act.busy} onClick={() => void decide(a.id, 'reject')}>
                    Recusar
                  </button>
                </>
              ),
          },
        ]}
      />
    </section>
  );
}
