// Produtos.tsx - every product; block and unblock.
import { useMemo, useState } from 'react';
import { api, qs } from '../api';
import { useKeyset } from '../hooks';
import { ErrorNote, Field, useAction, when } from '../ui';
import { Table } from './Table';

interface Product {
  id: string;
  name: string;
  producer_email: string;
  status: string;
  blocked: boolean;
  created_at: string;
}

export default function Produtos() {
  const [q, setQ] = useState('');
  const [filter, setFilter] = useState('');
  const list = useKeyset<Product>(useMemo(() => '/backoffice/v1/products' + qs({ q: filter }), [filter]));
  const act = useAction();
  return (
    <section>
      <h1>Produtos</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(q);
        }}
      >
        <Field label="Nome do produto" name="q" value={q} onChange={(e) => setQ(e.target.value)} error={list.error} />
        <button type="submit">Buscar</button>
      </form>
      <ErrorNote error={act.error} />
      <Table
        rows={list.items}
        error={list.error}
        loading={list.loading}
        hasMore={list.hasMore}
        onMore={list.loadMore}
        columns={[
          { title: 'Produto', cell: (p) => p.name },
          { title: 'Produtor', cell: (p) => p.producer_email },
          { title: 'Situação', cell: (p) => (p.blocked ? 'Bloqueado' : p.status) },
          { title: 'Criado', cell: (p) => when(p.created_at) },
          {
            title: 'Ações',
            cell: (p) => (
              <button
                type="button"
                disabled={act.busy}
                onClick={() => void act.run(async () => { await api('POST', `/backoffice/v1/products/${p.id}/${p.blocked ? 'unblock' : 'block'}`, {}); list.reload(); })}
              >
                {p.blocked ? 'Desbloquear' : 'Bloquear'}
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}
