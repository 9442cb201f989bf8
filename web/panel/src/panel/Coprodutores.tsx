// Coprodutores.tsx - a product's co-producers: list, add, remove.
import { useState } from 'react';
import { api } from '../api';
import { useKeyset } from '../hooks';
import { ErrorNote, Field, FormError, Submit, useAction, when } from '../ui';
import { ProductPicker } from './ProductPicker';

interface Coproducer {
  id: string;
  email: string;
  full_name: string;
  share_bps: number;
  ends_at: string | null;
}

export default function Coprodutores() {
  const [product, setProduct] = useState('');
  const list = useKeyset<Coproducer>(product ? `/api/v1/products/${product}/coproducers` : null);
  const [f, setF] = useState({ email: '', share: '' });
  const { busy, error, run } = useAction();
  const remove = useAction();
  return (
    <section>
      <h1>Coprodutores</h1>
      <ProductPicker value={product} onChange={setProduct} />
      <ErrorNote error={list.error ?? remove.error} />
      <table>
        <thead>
          <tr>
            <th>Nome</th>
            <th>E-mail</th>
            <th>Participação</th>
            <th>Até</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((c) => (
            <tr key={c.id}>
              <td>{c.full_name}</td>
              <td>{c.email}</td>
              <td>{c.share_bps / 100}%</td>
              <td>{when(c.ends_at)}</td>
              <td>
                <button type="button" disabled={remove.busy} onClick={() => void remove.run(async () => { await api('DELETE', `/api/v1/products/${product}/coproducers/${c.id}`); list.reload(); })}>
                  Remover
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Adicionar coprodutor</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await api('POST', `/api/v1/products/${product}/coproducers`, { email: f.email, share_bps: Math.round(Number(f.share.replace(',', '.')) * 100) });
            setF({ email: '', share: '' });
            list.reload();
          });
        }}
      >
        <Field label="E-mail do coprodutor" name="email" type="email" required value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} error={error} />
        <Field label="Participação (%)" name="share_bps" inputMode="decimal" required value={f.share} onChange={(e) => setF({ ...f, share: e.target.value })} error={error} />
        <FormError error={error} fields={['email', 'share_bps']} />
        <Submit busy={busy}>Adicionar</Submit>
      </form>
    </section>
  );
}
