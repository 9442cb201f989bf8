// Relatorios.tsx - orders CSV reports: create, follow, download.
import { useState } from 'react';
import { api, download } from '../api';
import { Field, FormError, METHOD, Select, STATUS, Submit, useAction } from '../ui';

interface Report {
  id: string;
  status: string;
  row_count: number | null;
  error: string | null;
}

const REPORT_STATUS: Record<string, string> = { pending: 'Na fila', running: 'Gerando', done: 'Pronto', failed: 'Falhou' };

export default function Relatorios() {
  const [f, setF] = useState({ status: '', payment_method: '', from: '', to: '' });
  const [reports, setReports] = useState<Report[]>([]);
  const { busy, error, run } = useAction();
  const dl = useAction();
  const refresh = async (id: string) => {
    const r = await api<Report>('GET', `/backoffice/v1/reports/${id}`);
    setReports((old) => old.map((x) => (x.id === id ? r : x)));
    return r;
  };
  return (
    <section>
      <h1>Relatórios</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const body: Record<string, string> = {};
            for (const [k, v] of Object.entries(f)) if (v) body[k] = v;
            const r = await api<Report>('POST', '/backoffice/v1/reports/orders', body);
            setReports((old) => [{ ...r, row_count: null, error: null }, ...old]);
            for (let i = 0; i < 60; i++) {
              await new Promise((ok) => setTimeout(ok, 1000));
              const now = await refresh(r.id);
              if (now.status === 'done' || now.status === 'failed') break;
            }
          });
        }}
      >
        <Select label="Situação" name="status" options={[['', 'Todas'], ...Object.entries(STATUS)]} value={f.status} onChange={(e) => setF({ ...f, status: e.target.value })} error={error} />
        <Select label="Forma de pagamento" name="payment_method" options={[['', 'Todas'], ...Object.entries(METHOD)]} value={f.payment_method} onChange={(e) => setF({ ...f, payment_method: e.target.value })} error={error} />
        <Field label="De" name="from" type="date" value={f.from} onChange={(e) => setF({ ...f, from: e.target.value })} error={error} />
        <Field label="Até" name="to" type="date" value={f.to} onChange={(e) => setF({ ...f, to: e.target.value })} error={error} />
        <FormError error={error} fields={['status', 'payment_method', 'from', 'to']} />
        <Submit busy={busy}>Gerar relatório CSV</Submit>
      </form>
      <FormError error={dl.error} fields={[]} />
      <ul>
        {reports.map((r) => (
          <li key={r.id}>
            Relatório {r.id.slice(0, 8)}: {REPORT_STATUS[r.status] ?? r.status}
            {r.row_count !== null ? ` (${r.row_count} pedidos)` : ''}{' '}
            {r.status === 'done' && (
              <button type="button" disabled={dl.busy} onClick={() => void dl.run(() => download(`/backoffice/v1/reports/${r.id}/download`, `relatorio-${r.id}.csv`))}>
                Baixar CSV
              </button>
            )}
            {r.status !== 'done' && r.status !== 'failed' && (
              <button type="button" onClick={() => void refresh(r.id)}>
                Atualizar
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
