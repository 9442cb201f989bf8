// Pedido.tsx - one order in full, and "Reembolsar" (full or partial) with
// one Idempotency-Key per attempt.
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import { api, idempotencyKey } from '../api';
import { useLoad } from '../hooks';
import { brl, CHARGE_STATUS, DELIVERY_STATUS, ErrorNote, Field, FormError, INVOICE_STATUS, label, Loading, METHOD, PARTY, parseReais, SPLIT_STATUS, STATUS, Submit, TextArea, useAction, when } from '../ui';
import { ApiError } from '../api';

interface Detail {
  id: string;
  status: string;
  payment_method: string;
  installments: number;
  total_cents: number;
  customer_name: string;
  customer_email: string;
  producer_id: string;
  created_at: string;
  paid_at: string | null;
  items: { id: string; offer_code: string; type: string; price_cents: number }[];
  charges: { id: string; acquirer: string; status: string; amount_cents: number; card_brand: string | null; card_last4: string | null }[];
  splits: { id: string; party: string; user_id: string | null; amount_cents: number; reversed_cents: number; status: string }[];
  refunds: { id: string; amount_cents: number; reason: string; status: string; created_at: string }[];
  webhook_deliveries: { endpoint_id: string; event: string; status: string; attempts: number; created_at: string }[];
  invoice: { status: string; amount_cents: number } | null;
  audit_trail: { id: string; action: string; actor_id: string; created_at: string }[];
}

const REFUND_STATUS: Record<string, string> = { requested: 'Solicitado', processing: 'Processando', succeeded: 'Concluído', failed: 'Falhou' };

function Refund({ order, onDone }: { order: Detail; onDone: () => void }) {
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  // one key per attempt: a retry of the same attempt (a lost answer)
  // reuses it; changing the amount or the reason makes a new attempt
  const [key, setKey] = useState(idempotencyKey);
  const { busy, error, run, setError } = useAction();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const body: Record<string, unknown> = { reason };
        if (amount.trim()) {
          const cents = parseReais(amount);
          if (cents === null || cents <= 0) {
            setError(new ApiError(422, 'invalid_value', '', 'amount_cents'));
            return;
          }
          body.amount_cents = cents;
        }
        void run(async () => {
          await api('POST', `/backoffice/v1/orders/${order.id}/refunds`, body, { 'Idempotency-Key': key });
          // the attempt is over: the next one gets its own key
          setKey(idempotencyKey());
          setAmount('');
          setReason('');
          onDone();
        });
      }}
    >
      <h2>Reembolsar</h2>
      <Field label="Valor a reembolsar (R$, vazio para o total)" name="amount_cents" inputMode="decimal" value={amount} onChange={(e) => {
          setAmount(e.target.value);
          setKey(idempotencyKey());
        }} error={error} />
      <TextArea
        label="Motivo"
        name="reason"
        required
        value={reason}
        onChange={(e) => {
          setReason(e.target.value);
          setKey(idempotencyKey());
        }}
        error={error}
      />
      <FormError error={error} fields={['amount_cents', 'reason']} />
      <Submit busy={busy}>Reembolsar</Submit>
    </form>
  );
}

export default function Pedido() {
  const { id } = useParams();
  const order = useLoad<Detail>(`/backoffice/v1/orders/${id}`);
  if (order.error) return <ErrorNote error={order.error} />;
  if (!order.data) return <Loading />;
  const o = order.data;
  return (
    <section>
      <h1>Pedido {o.id}</h1>
      <dl className="facts">
        <dt>Situação</dt>
        <dd className="order-status">{STATUS[o.status]}</dd>
        <dt>Total</dt>
        <dd>{brl(o.total_cents)}</dd>
        <dt>Forma</dt>
        <dd>
          {METHOD[o.payment_method]} {o.installments > 1 ? `em ${o.installments}x` : ''}
        </dd>
        <dt>Comprador</dt>
        <dd>
          {o.customer_name} ({o.customer_email})
        </dd>
        <dt>Produtor</dt>
        <dd>{o.producer_id}</dd>
        <dt>Criado / pago</dt>
        <dd>
          {when(o.created_at)} / {when(o.paid_at)}
        </dd>
        <dt>Nota fiscal</dt>
        <dd>{o.invoice ? `${label(INVOICE_STATUS, o.invoice.status)} (${brl(o.invoice.amount_cents)})` : '—'}</dd>
      </dl>
      <button type="button" onClick={order.reload}>
        Atualizar
      </button>
      <h2>Itens</h2>
      <ul>
        {o.items.map((i) => (
          <li key={i.id}>
            {i.offer_code} ({i.type}) — {brl(i.price_cents)}
          </li>
        ))}
      </ul>
      <h2>Cobranças</h2>
      <ul>
        {o.charges.map((c) => (
          <li key={c.id}>
            {c.acquirer}: {label(CHARGE_STATUS, c.status)} — {brl(c.amount_cents)} {c.card_brand ? `${c.card_brand} final ${c.card_last4}` : ''}
          </li>
        ))}
      </ul>
      <h2>Divisão</h2>
      <table>
        <thead>
          <tr>
            <th>Parte</th>
            <th>Valor</th>
            <th>Estornado</th>
            <th>Situação</th>
          </tr>
        </thead>
        <tbody>
          {o.splits.map((s) => (
            <tr key={s.id}>
              <td>{label(PARTY, s.party)}</td>
              <td>{brl(s.amount_cents)}</td>
              <td>{brl(s.reversed_cents)}</td>
              <td>{label(SPLIT_STATUS, s.status)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Reembolsos</h2>
      <ul className="refunds">
        {o.refunds.map((r) => (
          <li key={r.id} className="refund">
            {brl(r.amount_cents)} — <span className="refund-status">{REFUND_STATUS[r.status] ?? r.status}</span> — {r.reason}
          </li>
        ))}
      </ul>
      {o.refunds.length === 0 && <p>Nenhum reembolso.</p>}
      <h2>Entregas de webhook</h2>
      <ul>
        {o.webhook_deliveries.map((d, i) => (
          <li key={i}>
            {d.event}: {label(DELIVERY_STATUS, d.status)} ({d.attempts} {d.attempts === 1 ? 'tentativa' : 'tentativas'})
          </li>
        ))}
      </ul>
      <h2>Trilha de auditoria</h2>
      <ul>
        {o.audit_trail.map((a) => (
          <li key={a.id}>
            {when(a.created_at)} — {a.action} por {a.actor_id}
          </li>
        ))}
      </ul>
      <Refund order={o} onDone={order.reload} />
    </section>
  );
}
