// Webhooks.tsx - endpoints (the secret is shown once, at creation), the
// delivery log of each, and resending a delivery.
import { useState } from 'react';
import { api } from '../api';
import { useKeyset, useLoad } from '../hooks';
import { Check, DELIVERY_STATUS, ErrorNote, Field, FormError, Select, Submit, useAction, when } from '../ui';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  product_id: string | null;
  active: boolean;
}

interface Delivery {
  id: string;
  event: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  created_at: string;
}

const EVENTS: [string, string][] = [
  ['approved-payment', 'Pagamento aprovado'],
  ['refused-payment', 'Pagamento recusado'],
  ['generated-pix', 'Pix gerado'],
  ['generated-billet', 'Boleto gerado'],
  ['refund', 'Reembolso'],
  ['chargeback', 'Chargeback'],
  ['abandoned-cart', 'Carrinho abandonado'],
  ['affiliation-requested', 'Pedido de afiliação'],
  ['approved-affiliate', 'Afiliado aprovado'],
  ['refused-affiliate', 'Afiliado recusado'],
];


function Deliveries({ endpoint }: { endpoint: string }) {
  const list = useKeyset<Delivery>(`/api/v1/webhooks/${endpoint}/deliveries`);
  const resend = useAction();
  return (
    <div className="deliveries">
      <h3>Entregas</h3>
      <ErrorNote error={list.error ?? resend.error} />
      <table>
        <thead>
          <tr>
            <th>Evento</th>
            <th>Situação</th>
            <th>Tentativas</th>
            <th>Resposta</th>
            <th>Quando</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((d) => (
            <tr key={d.id} className="delivery-row">
              <td>{d.event}</td>
              <td>{DELIVERY_STATUS[d.status] ?? d.status}</td>
              <td>{d.attempts}</td>
              <td>{d.last_status_code ?? '—'}</td>
              <td>{when(d.created_at)}</td>
              <td>
                <button type="button" disabled={resend.busy} onClick={() => void resend.run(async () => { await api('POST', `/api/v1/webhooks/${endpoint}/deliveries/${d.id}/resend`, {}); list.reload(); })}>
                  Reenviar
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!list.loading && list.items.length === 0 && <p>Nenhuma entrega ainda.</p>}
      <button type="button" onClick={list.reload}>
        Atualizar
      </button>
    </div>
  );
}

export default function Webhooks() {
  const list = useKeyset<Endpoint>('/api/v1/webhooks');
  const products = useLoad<{ data: { id: string; name: string }[] }>('/api/v1/products?limit=100');
  const [f, setF] = useState({ url: '', events: ['approved-payment'], product_id: '' });
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  return (
    <section>
      <h1>Webhooks</h1>
      <ErrorNote error={list.error} />
      {list.items.map((w) => (
        <article key={w.id} className="card">
          <p>
            <strong>{w.url}</strong> {w.active ? '' : '(inativo)'}
          </p>
          <p>{w.events.map((e) => EVENTS.find((x) => x[0] === e)?.[1] ?? e).join(', ')}</p>
          <button type="button" onClick={() => setOpen(open === w.id ? null : w.id)}>
            {open === w.id ? 'Ocultar entregas' : 'Ver entregas'}
          </button>
          {open === w.id && <Deliveries endpoint={w.id} />}
        </article>
      ))}
      <h2>Novo webhook</h2>
      {secret && (
        <div className="notice" role="status">
          <p>Guarde o segredo de assinatura agora: ele não será mostrado de novo.</p>
          <code className="secret">{secret}</code>
        </div>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const body: Record<string, unknown> = { url: f.url, events: f.events };
            if (f.product_id) body.product_id = f.product_id;
            const created = await api<{ secret: string }>('POST', '/api/v1/webhooks', body);
            setSecret(created.secret);
            setF({ ...f, url: '' });
            list.reload();
          });
        }}
      >
        <Field label="URL de destino" name="url" type="url" required value={f.url} onChange={(e) => setF({ ...f, url: e.target.value })} error={error} />
        <fieldset>
          <legend>Eventos</legend>
          {EVENTS.map(([value, text]) => (
            <Check
              key={value}
              label={text}
              name={`event-${value}`}
              checked={f.events.includes(value)}
              onChange={() => setF({ ...f, events: f.events.includes(value) ? f.events.filter((x) => x !== value) : [...f.events, value] })}
            />
          ))}
        </fieldset>
        <Select
          label="Só do produto"
          name="product_id"
          options={[['', 'Todos os produtos'], ...(products.data?.data ?? []).map((p) => [p.id, p.name] as [string, string])]}
          value={f.product_id}
          onChange={(e) => setF({ ...f, product_id: e.target.value })}
          error={error}
        />
        <FormError error={error} fields={['url', 'product_id']} />
        <Submit busy={busy}>Criar webhook</Submit>
      </form>
    </section>
  );
}
