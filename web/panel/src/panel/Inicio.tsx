// Inicio.tsx - "Início": revenue by day, paid orders by payment method and
// the checkout funnel for the period the producer picks, in their zone.
import { useMemo, useState } from 'react';
import type { ChartConfiguration } from 'chart.js';
import { qs, type Schemas } from '../api';
import { ChartBox, COLORS } from '../charts';
import { useLoad } from '../hooks';
import { brl, ErrorNote, Field, Loading, METHOD, Select } from '../ui';

type Charts = Schemas['DashboardCharts'];

const STEPS: Record<string, string> = { page_view: 'Visitas ao checkout', checkout_started: 'Checkouts iniciados', paid: 'Pedidos pagos' };
const ZONES: [string, string][] = [
  ['America/Sao_Paulo', 'Brasília (America/Sao_Paulo)'],
  ['America/Manaus', 'Manaus (America/Manaus)'],
  ['America/Rio_Branco', 'Rio Branco (America/Rio_Branco)'],
  ['America/Noronha', 'Fernando de Noronha (America/Noronha)'],
  ['UTC', 'UTC'],
];

function isoDay(d: Date): string {
  return d.toLocaleDateString('sv-SE', { timeZone: 'America/Sao_Paulo' });
}

export default function Inicio() {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 29 * 86400000)));
  const [to, setTo] = useState(isoDay(today));
  const [tz, setTz] = useState('America/Sao_Paulo');
  const charts = useLoad<Charts>('/api/v1/dashboard/charts' + qs({ from, to, tz }));
  const d = charts.data;
  const configs = useMemo(() => {
    if (!d) return null;
    const labels = d.revenue_by_day.map((x) => x.date.slice(8, 10) + '/' + x.date.slice(5, 7));
    const revenue: ChartConfiguration = {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { type: 'bar', label: 'Faturamento (R$)', data: d.revenue_by_day.map((x) => x.gross_cents / 100), backgroundColor: COLORS[0], yAxisID: 'y' },
          { type: 'line', label: 'Pedidos pagos', data: d.revenue_by_day.map((x) => x.paid_count), borderColor: COLORS[1], yAxisID: 'y1' },
        ],
      },
      options: { responsive: true, scales: { y: { beginAtZero: true }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } } },
    };
    const methods: ChartConfiguration = {
      type: 'doughnut',
      data: {
        labels: d.paid_by_method.map((m) => METHOD[m.payment_method]),
        datasets: [{ data: d.paid_by_method.map((m) => m.paid_count), backgroundColor: COLORS.slice(0, 3) }],
      },
      options: { responsive: true },
    };
    const funnel: ChartConfiguration = {
      type: 'bar',
      data: { labels: d.funnel.map((s) => STEPS[s.step]), datasets: [{ label: 'Quantidade', data: d.funnel.map((s) => s.count), backgroundColor: COLORS[4] }] },
      options: { indexAxis: 'y', responsive: true, scales: { x: { beginAtZero: true } } },
    };
    return { revenue, methods, funnel };
  }, [d]);
  const total = d ? d.revenue_by_day.reduce((a, x) => a + x.gross_cents, 0) : 0;
  const paid = d ? d.revenue_by_day.reduce((a, x) => a + x.paid_count, 0) : 0;
  return (
    <section>
      <h1>Início</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="De" name="from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} error={charts.error} />
        <Field label="Até" name="to" type="date" value={to} onChange={(e) => setTo(e.target.value)} error={charts.error} />
        <Select label="Fuso horário" name="tz" options={ZONES} value={tz} onChange={(e) => setTz(e.target.value)} error={charts.error} />
      </form>
      <ErrorNote error={charts.error} />
      {charts.loading && !d && <Loading />}
      {d && configs && (
        <>
          <p className="kpis">
            <span>
              Faturamento no período: <strong className="kpi-gross">{brl(total)}</strong>
            </span>{' '}
            <span>
              Pedidos pagos: <strong className="kpi-paid">{paid}</strong>
            </span>
          </p>
          <div className="charts">
            <ChartBox title="Faturamento por dia" config={configs.revenue} rows={d.revenue_by_day.filter((x) => x.paid_count > 0).map((x) => [x.date, `${brl(x.gross_cents)} (${x.paid_count})`])} />
            <ChartBox title="Pedidos pagos por forma de pagamento" config={configs.methods} rows={d.paid_by_method.map((m) => [METHOD[m.payment_method], String(m.paid_count)])} />
            <ChartBox title="Funil do checkout" config={configs.funnel} rows={d.funnel.map((s) => [STEPS[s.step], String(s.count)])} />
          </div>
        </>
      )}
    </section>
  );
}
