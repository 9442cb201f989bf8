// Analises.tsx - platform analytics: sales by day and by payment method.
import { useMemo, useState } from 'react';
import type { ChartConfiguration } from 'chart.js';
import { qs } from '../api';
import { ChartBox, COLORS } from '../charts';
import { useLoad } from '../hooks';
import { brl, ErrorNote, Field, METHOD } from '../ui';

interface Sales {
  data: { key: string | null; label: string | null; gross_cents: number; count: number; paid_count: number; approval_rate: number | null }[];
}

export default function Analises() {
  const [from, setFrom] = useState(new Date(Date.now() - 29 * 86400000).toISOString().slice(0, 10));
  const [to, setTo] = useState(new Date().toISOString().slice(0, 10));
  const byDay = useLoad<Sales>('/backoffice/v1/analytics/sales' + qs({ from, to, group_by: 'day' }));
  const byMethod = useLoad<Sales>('/backoffice/v1/analytics/sales' + qs({ from, to, group_by: 'payment_method' }));
  const configs = useMemo(() => {
    if (!byDay.data || !byMethod.data) return null;
    const day: ChartConfiguration = {
      type: 'bar',
      data: { labels: byDay.data.data.map((d) => d.key ?? ''), datasets: [{ label: 'Faturamento (R$)', data: byDay.data.data.map((d) => d.gross_cents / 100), backgroundColor: COLORS[0] }] },
      options: { responsive: true, scales: { y: { beginAtZero: true } } },
    };
    const method: ChartConfiguration = {
      type: 'doughnut',
      data: { labels: byMethod.data.data.map((d) => METHOD[d.key ?? ''] ?? d.key ?? ''), datasets: [{ data: byMethod.data.data.map((d) => d.paid_count), backgroundColor: COLORS }] },
      options: { responsive: true },
    };
    return { day, method };
  }, [byDay.data, byMethod.data]);
  return (
    <section>
      <h1>Análises da plataforma</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="De" name="from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} error={byDay.error} />
        <Field label="Até" name="to" type="date" value={to} onChange={(e) => setTo(e.target.value)} error={byDay.error} />
      </form>
      <ErrorNote error={byDay.error ?? byMethod.error} />
      {configs && byDay.data && byMethod.data && (
        <div className="charts">
          <ChartBox title="Faturamento por dia (UTC)" config={configs.day} rows={byDay.data.data.map((d) => [d.key ?? '', `${brl(d.gross_cents)} (${d.paid_count} pagos)`])} />
          <ChartBox
            title="Pedidos pagos por forma de pagamento"
            config={configs.method}
            rows={byMethod.data.data.map((d) => [METHOD[d.key ?? ''] ?? '', `${d.paid_count} de ${d.count} (${d.approval_rate !== null ? Math.round(d.approval_rate * 100) : 0}% aprovados)`])}
          />
        </div>
      )}
    </section>
  );
}
