// Usuarios.tsx - members: search, block, unblock, role.
import { useMemo, useState } from 'react';
import { api, qs } from '../api';
import { useKeyset } from '../hooks';
import { ErrorNote, Field, Select, useAction, when } from '../ui';
import { Table } from './Table';

interface User {
  id: string;
  email: string;
  full_name: string;
  role: string;
  status: string;
  created_at: string;
}

export default function Usuarios() {
  const [draft, setDraft] = useState({ email: '', name: '', status: '' });
  const [filters, setFilters] = useState(draft);
  const list = useKeyset<User>(useMemo(() => '/backoffice/v1/users' + qs(filters), [filters]));
  const act = useAction();
  const post = (path: string, body: unknown) => act.run(async () => { await api('POST', path, body); list.reload(); });
  return (
    <section>
      <h1>Usuários</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <Field label="E-mail" name="email" value={draft.email} onChange={(e) => setDraft({ ...draft, email: e.target.value })} error={list.error} />
        <Field label="Nome" name="name" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} error={list.error} />
        <Select
          label="Situação"
          name="status"
          options={[
            ['', 'Todas'],
            ['active', 'Ativo'],
            ['blocked', 'Bloqueado'],
          ]}
          value={draft.status}
          onChange={(e) => setDraft({ ...draft, status: e.target.value })}
        />
        <button type="submit">Buscar</button>
      </form>
      <ErrorNote error={act.error} />
      <Table
        rows={list.items}
        error={list.error}
        loading={list.loading}
        hasMore={list.hasMore}
        onMore={list.loadMore}
        columns={[
          { title: 'Nome', cell: (u) => u.full_name },
          { title: 'E-mail', cell: (u) => u.email },
          { title: 'Papel', cell: (u) => (u.role === 'admin' ? 'Administrador' : 'Membro') },
          { title: 'Situação', cell: (u) => <span className="user-status">{u.status === 'blocked' ? 'Bloqueado' : 'Ativo'}</span> },
          { title: 'Desde', cell: (u) => when(u.created_at) },
          {
            title: 'Ações',
            cell: (u) => (
              <>
                <button type="button" disabled={act.busy} onClick={() => void post(`/backoffice/v1/users/${u.id}/${u.status === 'blocked' ? 'unblock' : 'block'}`, {})}>
                  {u.status === 'blocked' ? 'Desbloquear' : 'Bloquear'}
                </button>{' '}
                <button type="button" disabled={act.busy} onClick={() => void post(`/backoffice/v1/users/${u.id}/role`, { role: u.role === 'admin' ? 'member' : 'admin' })}>
                  {u.role === 'admin' ? 'Tornar membro' : 'Tornar administrador'}
                </button>
              </>
            ),
          },
        ]}
      />
    </section>
  );
}
