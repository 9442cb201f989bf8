// Venda.tsx - one sale: items, the caller's splits, the refund request.
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import { api, idempotencyKey, type Schemas } from '../api';
import { useLoad } from '../hooks';
import { brl, ErrorNote, FormError, Loading, METHOD, PARTY, SPLIT_STATUS, STATUS, Submit, TextArea, useAction, when } from '../ui';

type SaleDetail = Schemas['Sale'];


function Refund({ sale, onDone }: { sale: SaleDetail; onDone: () => void }) {
  const [reason, setReason] = useState('');
  // one key per refund attempt: a retry of the same attempt reuses it;
  // a new reason makes a new attempt
  const [key, setKey] = useState(idempotencyKey);
  const { busy, error, run } = useAction();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          await api('POST', `/api/v1/sales/${sale.id}/refund`, { reason }, { 'Idempotency-Key': key });
          setKey(idempotencyKey());
          onDone();
        });
      }}
    >
      <h2>Reembolsar</h2>
      <TextArea label="Motivo do reembolso" name="reason" required value={reason} onChange={(e) => {
          setReason(e.target.value);
          setKey(idempotencyKey());
        }} error={error} />
      <FormError error={error} fields={['reason']} />
      <Submit busy={busy}>Pedir reembolso</Submit>
    </form>
  );
}

export default function Venda() {
  const { id } = useParams();
  const sale = useLoad<SaleDetail>(`/api/v1/sales/${id}`);
  if (sale.error) return <ErrorNote error={sale.error} />;
  if (!sale.data) return <Loading />;
  const s = sale.data;
  return (
    <section>
      <h1>Venda de {s.product_name}</h1>
      <dl className="facts">
        <dt>Situação</dt>
        <dd className="sale-status">{STATUS[s.status]}</dd>
        <dt>Forma de pagamento</dt>
        <dd>
          {METHOD[s.payment_method]} {s.installments > 1 ? `em ${s.installments}x` : ''}
        </dd>
        {s.total_cents !== undefined && (
          <>
            <dt>Total</dt>
            <dd>{brl(s.total_cents)}</dd>
          </>
        )}
        <dt>Sua parte</dt>
        <dd>{brl(s.my_amount_cents)}</dd>
        {s.customer && (
          <>
            <dt>Comprador</dt>
            <dd>
              {s.customer.full_name} ({s.customer.email})
            </dd>
          </>
        )}
        <dt>Criada em</dt>
        <dd>{when(s.created_at)}</dd>
        <dt>Paga em</dt>
        <dd>{when(s.paid_at)}</dd>
      </dl>
      <h2>Itens</h2>
      <ul>
        {(s.items ?? []).map((it, i) => (
          <li key={i}>
            {it.offer_name} {it.price_cents !== undefined ? `— ${brl(it.price_cents)}` : ''}
          </li>
        ))}
      </ul>
      {s.splits && (
        <>
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
              {s.splits.map((sp, i) => (
                <tr key={i}>
                  <td>{PARTY[sp.party]}</td>
                  <td>{brl(sp.amount_cents)}</td>
                  <td>{brl(sp.reversed_cents)}</td>
                  <td>{SPLIT_STATUS[sp.status]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {s.role === 'producer' && s.status === 'paid' && <Refund sale={s} onDone={sale.reload} />}
    </section>
  );
}
