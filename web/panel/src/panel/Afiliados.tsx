// Afiliados.tsx - as producer: affiliation requests to approve or refuse;
// as affiliate: the marketplace, own affiliations and their links.
import { useState } from 'react';
import { api, type Schemas } from '../api';
import { useKeyset, useLoad } from '../hooks';
import { brl, ErrorNote, useAction, when } from '../ui';

interface Affiliation {
  id: string;
  product_name: string;
  affiliate_name: string;
  affiliate_email: string;
  ref: string;
  status: string;
  commission_bps: number;
  created_at: string;
}

interface MarketItem {
  id: string;
  name: string;
  producer_name: string;
  commission_bps: number;
  cookie_days: number;
}

/** An approved affiliate's links: each active offer's checkout page with
 * the affiliate's ref. */
function Links({ id }: { id: string }) {
  const links = useLoad<Schemas['AffiliateLinks']>(`/api/v1/affiliations/${id}/links`);
  if (links.error) return <ErrorNote error={links.error} />;
  return (
    <ul className="affiliate-links">
      {(links.data?.data ?? []).map((l) => (
        <li key={l.offer_code}>
          {l.offer_name} ({brl(l.price_cents)}): <code>{`${window.location.origin}${l.path}`}</code>
        </li>
      ))}
    </ul>
  );
}

const AFF_STATUS: Record<string, string> = { pending: 'Pendente', approved: 'Aprovada', rejected: 'Recusada', refused: 'Recusada', blocked: 'Bloqueada' };

export default function Afiliados() {
  const asProducer = useKeyset<Affiliation>('/api/v1/affiliations?as=producer');
  const mine = useKeyset<Affiliation>('/api/v1/affiliations?as=affiliate');
  const market = useKeyset<MarketItem>('/api/v1/marketplace');
  const act = useAction();
  const [asked, setAsked] = useState<string[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section>
      <h1>Afiliados</h1>
      <ErrorNote error={act.error} />
      <h2>Pedidos de afiliação nos seus produtos</h2>
      <ErrorNote error={asProducer.error} />
      <table>
        <thead>
          <tr>
            <th>Produto</th>
            <th>Afiliado</th>
            <th>Comissão</th>
            <th>Situação</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {asProducer.items.map((a) => (
            <tr key={a.id}>
              <td>{a.product_name}</td>
              <td>
                {a.affiliate_name} ({a.affiliate_email})
              </td>
              <td>{a.commission_bps / 100}%</td>
              <td>{AFF_STATUS[a.status] ?? a.status}</td>
              <td>
                {a.status === 'pending' && (
                  <>
                    <button type="button" disabled={act.busy} onClick={() => void act.run(async () => { await api('POST', `/api/v1/affiliations/${a.id}/approve`, {}); asProducer.reload(); })}>
                      Aprovar
                    </button>{' '}
                    <button type="button" disabled={act.busy} onClick={() => void act.run(async () => { await api('POST', `/api/v1/affiliations/${a.id}/reject`, {}); asProducer.reload(); })}>
                      Recusar
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Suas afiliações</h2>
      <table>
        <thead>
          <tr>
            <th>Produto</th>
            <th>Situação</th>
            <th>Seu código de afiliado</th>
            <th>Desde</th>
            <th>Links de divulgação</th>
          </tr>
        </thead>
        <tbody>
          {mine.items.map((a) => (
            <tr key={a.id}>
              <td>{a.product_name}</td>
              <td>{AFF_STATUS[a.status] ?? a.status}</td>
              <td>{a.status === 'approved' ? <code>?ref={a.ref}</code> : '—'}</td>
              <td>{when(a.created_at)}</td>
              <td>
                {a.status === 'approved' && (
                  <>
                    <button type="button" onClick={() => setOpen(open === a.id ? null : a.id)}>
                      {open === a.id ? 'Ocultar links' : 'Ver links'}
                    </button>
                    {open === a.id && <Links id={a.id} />}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Mercado de afiliação</h2>
      <ErrorNote error={market.error} />
      <table>
        <thead>
          <tr>
            <th>Produto</th>
            <th>Produtor</th>
            <th>Comissão</th>
            <th>Cookie</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {market.items.map((m) => (
            <tr key={m.id}>
              <td>{m.name}</td>
              <td>{m.producer_name}</td>
              <td>{m.commission_bps / 100}%</td>
              <td>{m.cookie_days === 0 ? 'Para sempre' : `${m.cookie_days} dias`}</td>
              <td>
                <button
                  type="button"
                  disabled={act.busy || asked.includes(m.id)}
                  onClick={() =>
                    void act.run(async () => {
                      await api('POST', `/api/v1/products/${m.id}/affiliations`);
                      setAsked([...asked, m.id]);
                      mine.reload();
                    })
                  }
                >
                  {asked.includes(m.id) ? 'Pedido enviado' : 'Quero me afiliar'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {market.hasMore && (
        <button type="button" onClick={market.loadMore}>
          Carregar mais
        </button>
      )}
    </section>
  );
}
