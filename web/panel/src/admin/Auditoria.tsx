// Auditoria.tsx - the audit log: who did what, when, from where.
import { useMemo, useState } from 'react';
import { qs } from '../api';
import { useKeyset } from '../hooks';
import { Field, when } from '../ui';
import { Table } from './Table';

interface Entry {
  id: number;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  ip: string;
  created_at: string;
}

export default function Auditoria() {
  const [target, setTarget] = useState('');
  const [filter, setFilter] = useState('');
  const list = useKeyset<Entry>(useMemo(() => '/backoffice/v1/audit-log' + qs({ target_id: filter }), [filter]));
  return (
    <section>
      <h1>Auditoria</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(target.trim());
        }}
      >
        <Field label="ID do alvo" name="target_id" value={target} onChange={(e) => setTarget(e.target.value)} error={list.error} />
        <button type="submit">Filtrar</button>
      </form>
      <Table
        rows={list.items}
        error={list.error}
        loading={list.loading}
        hasMore={list.hasMore}
        onMore={list.loadMore}
        columns={[
          { title: 'Quando', cell: (e) => when(e.created_at) },
          { title: 'Quem', cell: (e) => e.actor_id },
          { title: 'Ação', cell: (e) => e.action },
          { title: 'Alvo', cell: (e) => `${e.target_type} ${e.target_id}` },
          { title: 'De onde', cell: (e) => e.ip },
        ]}
      />
    </section>
  );
}
