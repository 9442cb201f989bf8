// Cupons.tsx - a product's coupons: list, create, turn off.
import { useState } from 'react';
import { api } from '../api';
import { useKeyset } from '../hooks';
import { brl, Check, ErrorNote, Field, FormError, parseReais, Select, Submit, useAction, when } from '../ui';
import { ProductPicker } from './ProductPicker';

interface Coupon {
  id: string;
  code: string;
  percent_bps: number | null;
  amount_cents: number | null;
  uses: number;
  max_uses: number | null;
  expires_at: string | null;
  active: boolean;
}

export default function Cupons() {
  const [product, setProduct] = useState('');
  const list = useKeyset<Coupon>(product ? `/api/v1/products/${product}/coupons` : null);
  const [f, setF] = useState({ code: '', kind: 'percent', value: '', expires_at: '', max_uses: '', once_per_customer: false });
  const { busy, error, run } = useAction();
  const toggle = useAction();
  return (
    <section>
      <h1>Cupons</h1>
      <ProductPicker value={product} onChange={setProduct} />
      <ErrorNote error={list.error ?? toggle.error} />
      <table>
        <thead>
          <tr>
            <th>Código</th>
            <th>Desconto</th>
            <th>Usos</th>
            <th>Validade</th>
            <th>Ativo</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((c) => (
            <tr key={c.id}>
              <td>{c.code}</td>
              <td>{c.percent_bps !== null ? `${c.percent_bps / 100}%` : brl(c.amount_cents)}</td>
              <td>
                {c.uses}
                {c.max_uses !== null ? ` de ${c.max_uses}` : ''}
              </td>
              <td>{when(c.expires_at)}</td>
              <td>
                <button type="button" disabled={toggle.busy} onClick={() => void toggle.run(async () => { await api('PATCH', `/api/v1/coupons/${c.id}`, { active: !c.active }); list.reload(); })}>
                  {c.active ? 'Desativar' : 'Ativar'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.hasMore && (
        <button type="button" onClick={list.loadMore}>
          Carregar mais
        </button>
      )}
      <h2>Novo cupom</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const body: Record<string, unknown> = { code: f.code, once_per_customer: f.once_per_customer };
            if (f.kind === 'percent') body.percent_bps = Math.round(Number(f.value.replace(',', '.')) * 100);
            else body.amount_cents = parseReais(f.value) ?? -1;
            if (f.expires_at) body.expires_at = new Date(`${f.expires_at}T23:59:59-03:00`).toISOString().replace('.000Z', 'Z');
            if (f.max_uses) body.max_uses = Number(f.max_uses);
            await api('POST', `/api/v1/products/${product}/coupons`, body);
            setF({ ...f, code: '', value: '' });
            list.reload();
          });
        }}
      >
        <Field label="Código" name="code" required value={f.code} onChange={(e) => setF({ ...f, code: e.target.value.toUpperCase() })} error={error} />
        <Select
          label="Tipo de desconto"
          name="kind"
          options={[
            ['percent', 'Porcentagem'],
            ['amount', 'Valor fixo (R$)'],
          ]}
          value={f.kind}
          onChange={(e) => setF({ ...f, kind: e.target.value })}
        />
        <Field
          label={f.kind === 'percent' ? 'Desconto (%)' : 'Desconto (R$)'}
          name={f.kind === 'percent' ? 'percent_bps' : 'amount_cents'}
          inputMode="decimal"
          required
          value={f.value}
          onChange={(e) => setF({ ...f, value: e.target.value })}
          error={error}
        />
        <Field label="Válido até" name="expires_at" type="date" value={f.expires_at} onChange={(e) => setF({ ...f, expires_at: e.target.value })} error={error} />
        <Field label="Limite de usos" name="max_uses" type="number" min={1} value={f.max_uses} onChange={(e) => setF({ ...f, max_uses: e.target.value })} error={error} />
        <Check label="Uma vez por comprador" name="once_per_customer" checked={f.once_per_customer} onChange={(e) => setF({ ...f, once_per_customer: e.target.checked })} />
        <FormError error={error} fields={['code', 'percent_bps', 'amount_cents', 'expires_at', 'max_uses']} />
        <Submit busy={busy}>Criar cupom</Submit>
      </form>
    </section>
  );
}
