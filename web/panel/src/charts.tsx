// charts.tsx - chart.js with only the pieces used (bars, lines, a
// doughnut), loaded with the pages that draw charts.
import { useEffect, useRef } from 'react';
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, DoughnutController, ArcElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.locale = 'pt-BR';
Chart.defaults.animation = false;

/** A chart in a labelled figure; the numbers stay readable as a table for
 * screen readers and tests. */
export function ChartBox({ title, config, rows }: { title: string; config: ChartConfiguration; rows: [string, string][] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [config]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <canvas ref={canvas} role="img" aria-label={title} />
      <table className="chart-data">
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export const COLORS = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed'];
