// Vendas.tsx - the sales list: server-side filters, keyset pages, CSV export.
import { useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, download, qs, type Schemas } from '../api';
import { useKeyset, useLoad } from '../hooks';
import { brl, ErrorNote, Field, METHOD, Select, STATUS, Submit, useAction, when } from '../ui';

type Sale = Schemas['Sale'];
type SalesExport = Schemas['SalesExport'];

/** The start of a local (São Paulo, UTC-3) day as RFC 3339. */
function dayStart(date: string): string | undefined {
  return date ? `${date}T00:00:00-03:00` : undefined;
}

function nextDayStart(date: string): string | undefined {
  if (!date) return undefined;
  const d = new Date(`${date}T00:00:00-03:00`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().replace('.000Z', 'Z');
}

function Export({ filters }: { filters: Record<string, string> }) {
  const { busy, error, run } = useAction();
  const [state, setState] = useState('');
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const body: Record<string, string> = {};
          for (const k of ['status', 'payment_method', 'product_id', 'from', 'to']) if (filters[k]) body[k] = filters[k];
          setState('Preparando o arquivo…');
          let exp = await api<SalesExport>('POST', '/api/v1/sales/exports', body);
          for (let i = 0; i < 120 && exp.status !== 'done' && exp.status !== 'failed'; i++) {
            await new Promise((r) => setTimeout(r, 500));
            exp = await api<SalesExport>('GET', `/api/v1/sales/exports/${exp.id}`);
          }
          if (exp.status !== 'done') {
            setState('A exportação falhou. Tente de novo.');
            return;
          }
          await download(`/api/v1/sales/exports/${exp.id}/download`, `vendas-${exp.id}.csv`);
          setState('Arquivo baixado.');
        });
      }}
    >
      <Submit busy={busy}>Exportar CSV</Submit>
      <span role="status"> {state}</span>
      <ErrorNote error={error} />
    </form>
  );
}

export default function Vendas() {
  const products = useLoad<{ data: { id: string; name: string }[] }>('/api/v1/products?limit=100');
  const [draft, setDraft] = useState({ status: '', payment_method: '', product_id: '', from: '', to: '' });
  const [filters, setFilters] = useState(draft);
  const base = useMemo(
    () =>
      '/api/v1/sales' +
      qs({ status: filters.status, payment_method: filters.payment_method, product_id: filters.product_id, from: dayStart(filters.from), to: nextDayStart(filters.to) }),
    [filters],
  );
  const list = useKeyset<Sale>(base);
  const set = (k: keyof typeof draft) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setDraft({ ...draft, [k]: e.target.value });
  return (
    <section>
      <h1>Vendas</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <Select label="Situação" name="status" options={[['', 'Todas'], ...Object.entries(STATUS)]} value={draft.status} onChange={set('status')} error={list.error} />
        <Select label="Forma de pagamento" name="payment_method" options={[['', 'Todas'], ...Object.entries(METHOD)]} value={draft.payment_method} onChange={set('payment_method')} error={list.error} />
        <Select
          label="Produto"
          name="product_id"
          options={[['', 'Todos'], ...(products.data?.data ?? []).map((p) => [p.id, p.name] as [string, string])]}
          value={draft.product_id}
          onChange={set('product_id')}
          error={list.error}
        />
        <Field label="De" name="from" type="date" value={draft.from} onChange={set('from')} error={list.error} />
        <Field label="Até" name="to" type="date" value={draft.to} onChange={set('to')} error={list.error} />
        <button type="submit">Filtrar</button>
      </form>
      <Export filters={filters} />
      <ErrorNote error={list.error} />
      <table aria-busy={list.loading}>
        <thead>
          <tr>
            <th>Data</th>
            <th>Produto</th>
            <th>Comprador</th>
            <th>Forma</th>
            <th>Situação</th>
            <th>Total</th>
            <th>Sua parte</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((s) => (
            <tr key={s.id} className="sale-row">
              <td>
                <Link to={`/vendas/${s.id}`}>{when(s.created_at)}</Link>
              </td>
              <td>{s.product_name}</td>
              <td>{s.customer?.email ?? '—'}</td>
              <td>{METHOD[s.payment_method]}</td>
              <td>{STATUS[s.status]}</td>
              <td>{s.total_cents !== undefined ? brl(s.total_cents) : '—'}</td>
              <td>{brl(s.my_amount_cents)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!list.loading && list.items.length === 0 && <p>Nenhuma venda encontrada.</p>}
      {list.hasMore && (
        <button type="button" onClick={list.loadMore} disabled={list.loading}>
          Carregar mais
        </button>
      )}
    </section>
  );
}
