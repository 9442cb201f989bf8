// Produtos.tsx - the member's products and the form for a new one.
import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, type Schemas } from '../api';
import { useKeyset } from '../hooks';
import { ErrorNote, Field, FormError, Select, Submit, TextArea, useAction } from '../ui';

export type Product = Schemas['Product'];

export const TYPES: [string, string][] = [
  ['course', 'Curso'],
  ['ebook', 'E-book'],
  ['community', 'Comunidade'],
  ['service', 'Serviço'],
];
export const PRODUCT_STATUS: [string, string][] = [
  ['draft', 'Rascunho'],
  ['active', 'Ativo'],
  ['archived', 'Arquivado'],
];

export default function Produtos() {
  const list = useKeyset<Product>('/api/v1/products');
  const [f, setF] = useState({ name: '', description: '', type: 'course', guarantee_days: '7', status: 'active' });
  const { busy, error, run } = useAction();
  const navigate = useNavigate();
  return (
    <section>
      <h1>Produtos</h1>
      <ErrorNote error={list.error} />
      <table>
        <thead>
          <tr>
            <th>Nome</th>
            <th>Tipo</th>
            <th>Situação</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((p) => (
            <tr key={p.id}>
              <td>
                <Link to={`/produtos/${p.id}`}>{p.name}</Link>
              </td>
              <td>{TYPES.find((t) => t[0] === p.type)?.[1]}</td>
              <td>{p.blocked ? 'Bloqueado' : PRODUCT_STATUS.find((s) => s[0] === p.status)?.[1]}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.hasMore && (
        <button type="button" onClick={list.loadMore} disabled={list.loading}>
          Carregar mais
        </button>
      )}
      <h2>Novo produto</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const body: Record<string, unknown> = { name: f.name, type: f.type, guarantee_days: Number(f.guarantee_days), status: f.status };
            if (f.description) body.description = f.description;
            const p = await api<Product>('POST', '/api/v1/products', body);
            navigate(`/produtos/${p.id}`);
          });
        }}
      >
        <Field label="Nome do produto" name="name" required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} error={error} />
        <TextArea label="Descrição" name="description" value={f.description} onChange={(e) => setF({ ...f, description: e.target.value })} error={error} />
        <Select label="Tipo" name="type" options={TYPES} value={f.type} onChange={(e) => setF({ ...f, type: e.target.value })} error={error} />
        <Select
          label="Garantia (dias)"
          name="guarantee_days"
          options={['7', '15', '21', '30'].map((d) => [d, `${d} dias`])}
          value={f.guarantee_days}
          onChange={(e) => setF({ ...f, guarantee_days: e.target.value })}
          error={error}
        />
        <Select label="Situação" name="status" options={PRODUCT_STATUS} value={f.status} onChange={(e) => setF({ ...f, status: e.target.value })} error={error} />
        <FormError error={error} fields={['name', 'description', 'type', 'guarantee_days', 'status']} />
        <Submit busy={busy}>Criar produto</Submit>
      </form>
    </section>
  );
}
