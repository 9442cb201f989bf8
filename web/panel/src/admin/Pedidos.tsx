// Pedidos.tsx - orders search: buyer e-mail, CPF, order id, producer.
import { useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { qs } from '../api';
import { useKeyset } from '../hooks';
import { brl, Field, METHOD, Select, STATUS, when } from '../ui';
import { Table } from './Table';

export interface Order {
  id: string;
  status: string;
  payment_method: string;
  total_cents: number;
  customer_name: string;
  customer_email: string;
  producer_id: string;
  created_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default function Pedidos() {
  const [draft, setDraft] = useState({ email: '', document: '', order_id: '', producer_id: '', status: '' });
  const [filters, setFilters] = useState(draft);
  const navigate = useNavigate();
  const base = useMemo(
    () => '/backoffice/v1/orders' + qs({ email: filters.email.trim().toLowerCase(), document: filters.document.replace(/\D/g, ''), producer_id: filters.producer_id.trim(), status: filters.status }),
    [filters],
  );
  const list = useKeyset<Order>(base);
  const set = (k: keyof typeof draft) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setDraft({ ...draft, [k]: e.target.value });
  return (
    <section>
      <h1>Pedidos</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (UUID.test(draft.order_id.trim())) navigate(`/pedidos/${draft.order_id.trim()}`);
          else setFilters(draft);
        }}
      >
        <Field label="E-mail do comprador" name="email" type="email" value={draft.email} onChange={set('email')} error={list.error} />
        <Field label="CPF do comprador" name="document" value={draft.document} onChange={set('document')} error={list.error} />
        <Field label="ID do pedido" name="order_id" value={draft.order_id} onChange={set('order_id')} />
        <Field label="ID do produtor" name="producer_id" value={draft.producer_id} onChange={set('producer_id')} error={list.error} />
        <Select label="Situação" name="status" options={[['', 'Todas'], ...Object.entries(STATUS)]} value={draft.status} onChange={set('status')} error={list.error} />
        <button type="submit">Buscar</button>
      </form>
      <Table
        rows={list.items}
        error={list.error}
        loading={list.loading}
        hasMore={list.hasMore}
        onMore={list.loadMore}
        columns={[
          { title: 'Pedido', cell: (o) => <Link to={`/pedidos/${o.id}`}>{o.id.slice(0, 8)}…</Link> },
          { title: 'Data', cell: (o) => when(o.created_at) },
          { title: 'Comprador', cell: (o) => `${o.customer_name} (${o.customer_email})` },
          { title: 'Forma', cell: (o) => METHOD[o.payment_method] },
          { title: 'Situação', cell: (o) => STATUS[o.status] },
          { title: 'Total', cell: (o) => brl(o.total_cents) },
        ]}
      />
    </section>
  );
}
