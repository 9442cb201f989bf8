// Adquirentes.tsx - the card acquirer priority order.
import { useEffect, useState } from 'react';
import { api } from '../api';
import { useLoad } from '../hooks';
import { ErrorNote, FormError, Loading, Submit, useAction } from '../ui';

export default function Adquirentes() {
  const settings = useLoad<{ priority: string[] }>('/backoffice/v1/settings/acquirers');
  const [order, setOrder] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  useEffect(() => {
    if (settings.data) setOrder(settings.data.priority);
  }, [settings.data]);
  const move = (i: number, d: number) => {
    const next = [...order];
    [next[i], next[i + d]] = [next[i + d], next[i]];
    setOrder(next);
    setSaved(false);
  };
  if (settings.error) return <ErrorNote error={settings.error} />;
  if (!settings.data) return <Loading />;
  return (
    <section>
      <h1>Prioridade dos adquirentes</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await api('PUT', '/backoffice/v1/settings/acquirers', { priority: order });
            setSaved(true);
          });
        }}
      >
        <ol>
          {order.map((name, i) => (
            <li key={name}>
              {name}{' '}
              <button type="button" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Subir ${name}`}>
                ↑
              </button>
              <button type="button" disabled={i === order.length - 1} onClick={() => move(i, 1)} aria-label={`Descer ${name}`}>
                ↓
              </button>
            </li>
          ))}
        </ol>
        <FormError error={error} fields={[]} />
        <Submit busy={busy}>Salvar ordem</Submit>
        {saved && <span role="status"> Ordem salva.</span>}
      </form>
    </section>
  );
}
