// Produto.tsx - one product: its form, image, affiliate program, offers
// (price in reais, installments, methods, bumps, upsell) and checkout links.
import { useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';
import { api, ApiError, authorized, type Schemas } from '../api';
import { useLoad } from '../hooks';
import { brl, Check, ErrorNote, Field, FormError, Loading, messageFor, parseReais, reais, Select, Submit, TextArea, useAction } from '../ui';
import { PRODUCT_STATUS, TYPES, type Product } from './Produtos';

type Offer = Schemas['Offer'];

function ProductForm({ product, onSaved }: { product: Product; onSaved: (p: Product) => void }) {
  const [f, setF] = useState({
    name: product.name,
    description: product.description ?? '',
    type: product.type as string,
    guarantee_days: String(product.guarantee_days),
    status: product.status as string,
    aff_enabled: product.affiliate_program.enabled,
    commission: String(product.affiliate_program.commission_bps / 100),
    cookie_days: String(product.affiliate_program.cookie_days),
    attribution: product.affiliate_program.attribution as string,
  });
  const [saved, setSaved] = useState(false);
  const { busy, error, run, setError } = useAction();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        const pct = Number(f.commission.replace(',', '.'));
        if (f.aff_enabled && !(pct >= 0 && pct <= 100)) {
          setError(new ApiError(422, 'invalid_value', '', 'affiliate_program.commission_bps'));
          return;
        }
        void run(async () => {
          const p = await api<Product>('PATCH', `/api/v1/products/${product.id}`, {
            name: f.name,
            description: f.description || null,
            type: f.type,
            guarantee_days: Number(f.guarantee_days),
            status: f.status,
            affiliate_program: { enabled: f.aff_enabled, commission_bps: Math.round(pct * 100), cookie_days: Number(f.cookie_days), attribution: f.attribution },
          });
          onSaved(p);
          setSaved(true);
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
      <fieldset>
        <legend>Programa de afiliados</legend>
        <Check label="Aceitar afiliados" name="affiliate_program.enabled" checked={f.aff_enabled} onChange={(e) => setF({ ...f, aff_enabled: e.target.checked })} error={error} />
        <Field label="Comissão (%)" name="affiliate_program.commission_bps" inputMode="decimal" value={f.commission} onChange={(e) => setF({ ...f, commission: e.target.value })} error={error} />
        <Select
          label="Duração do cookie"
          name="affiliate_program.cookie_days"
          options={[
            ['60', '60 dias'],
            ['90', '90 dias'],
            ['180', '180 dias'],
            ['0', 'Para sempre'],
          ]}
          value={f.cookie_days}
          onChange={(e) => setF({ ...f, cookie_days: e.target.value })}
          error={error}
        />
        <Select
          label="Atribuição"
          name="affiliate_program.attribution"
          options={[
            ['last_click', 'Último clique'],
            ['first_click', 'Primeiro clique'],
          ]}
          value={f.attribution}
          onChange={(e) => setF({ ...f, attribution: e.target.value })}
          error={error}
        />
      </fieldset>
      <FormError
        error={error}
        fields={['name', 'description', 'type', 'guarantee_days', 'status', 'affiliate_program.enabled', 'affiliate_program.commission_bps', 'affiliate_program.cookie_days', 'affiliate_program.attribution']}
      />
      <Submit busy={busy}>Salvar produto</Submit>
      {saved && <span role="status"> Produto salvo.</span>}
    </form>
  );
}

/** JPEG, PNG or WebP up to 1 MiB, sent as the raw body. */
function ImageUpload({ productId }: { productId: string }) {
  const [file, setFile] = useState<File | null>(null);
  const [done, setDone] = useState(false);
  const { busy, error, run, setError } = useAction();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        setDone(false);
        if (!file) return;
        if (!['image/jpeg', 'image/png', 'image/webp'].includes(file.type)) {
          setError(new ApiError(415, 'unsupported_media_type', '', 'image'));
          return;
        }
        if (file.size > 1024 * 1024) {
          setError(new ApiError(413, 'file_too_large', '', 'image'));
          return;
        }
        void run(async () => {
          await authorizedUpload(productId, file);
          setDone(true);
        });
      }}
    >
      <div className="field">
        <label htmlFor="product-image">Imagem do produto (JPEG, PNG ou WebP, até 1 MB)</label>
        <input id="product-image" name="image" type="file" accept="image/jpeg,image/png,image/webp" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        {error instanceof ApiError && <p className="field-error">{messageFor(error.code, error.status)}</p>}
      </div>
      <Submit busy={busy}>Enviar imagem</Submit>
      {done && <span role="status"> Imagem enviada.</span>}
    </form>
  );
}

async function authorizedUpload(productId: string, file: File) {
  // the body is the image itself; authorized() adds the bearer
  return authorized('PUT', `/api/v1/products/${productId}/image`, file, { 'Content-Type': file.type });
}

function OfferForm({ productId, offer, offers, onSaved }: { productId: string; offer: Offer | null; offers: Offer[]; onSaved: () => void }) {
  const [f, setF] = useState({
    name: offer?.name ?? '',
    price: offer ? reais(offer.price_cents) : '',
    max_installments: String(offer?.max_installments ?? 12),
    interest_free_installments: String(offer?.interest_free_installments ?? 1),
    methods: (offer?.payment_methods ?? ['card', 'pix', 'boleto']) as string[],
    allow_coupon: offer?.allow_coupon ?? true,
    active: offer?.active ?? true,
    bumps: (offer?.bumps ?? []).map((b) => b.offer_id),
    upsell: offer?.upsell?.offer_id ?? '',
    one_click: offer?.upsell?.one_click ?? true,
  });
  const { busy, error, run, setError } = useAction();
  const toggle = (m: string) => setF({ ...f, methods: f.methods.includes(m) ? f.methods.filter((x) => x !== m) : [...f.methods, m] });
  const others = offers.filter((o) => o.id !== offer?.id);
  return (
    <form
      className="card"
      onSubmit={(e) => {
        e.preventDefault();
        const cents = parseReais(f.price);
        if (cents === null) {
          setError(new ApiError(422, 'invalid_value', '', 'price_cents'));
          return;
        }
        void run(async () => {
          const body = {
            name: f.name,
            price_cents: cents,
            max_installments: Number(f.max_installments),
            interest_free_installments: Number(f.interest_free_installments),
            payment_methods: f.methods,
            allow_coupon: f.allow_coupon,
            active: f.active,
          };
          const saved = offer ? await api<Offer>('PATCH', `/api/v1/offers/${offer.id}`, body) : await api<Offer>('POST', `/api/v1/products/${productId}/offers`, body);
          if (offer) {
            await api('PUT', `/api/v1/offers/${saved.id}/bumps`, { offer_ids: f.bumps });
            await api('PUT', `/api/v1/offers/${saved.id}/upsell`, f.upsell ? { offer_id: f.upsell, one_click: f.one_click } : { offer_id: null });
          }
          if (!offer) setF({ ...f, name: '', price: '' });
          onSaved();
        });
      }}
    >
      <h3>{offer ? `Oferta ${offer.name}` : 'Nova oferta'}</h3>
      <Field label="Nome da oferta" name="name" required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} error={error} />
      <Field label="Preço (R$)" name="price_cents" inputMode="decimal" placeholder="97,00" required value={f.price} onChange={(e) => setF({ ...f, price: e.target.value })} error={error} />
      <Select
        label="Parcelas (máximo)"
        name="max_installments"
        options={Array.from({ length: 12 }, (_, i) => [String(i + 1), `${i + 1}x`])}
        value={f.max_installments}
        onChange={(e) => setF({ ...f, max_installments: e.target.value })}
        error={error}
      />
      <Select
        label="Parcelas sem juros"
        name="interest_free_installments"
        options={Array.from({ length: 12 }, (_, i) => [String(i + 1), `${i + 1}x`])}
        value={f.interest_free_installments}
        onChange={(e) => setF({ ...f, interest_free_installments: e.target.value })}
        error={error}
      />
      <fieldset>
        <legend>Formas de pagamento</legend>
        <Check label="Cartão" name="payment_methods" checked={f.methods.includes('card')} onChange={() => toggle('card')} />
        <Check label="Pix" name="payment_methods.pix" checked={f.methods.includes('pix')} onChange={() => toggle('pix')} />
        <Check label="Boleto" name="payment_methods.boleto" checked={f.methods.includes('boleto')} onChange={() => toggle('boleto')} error={error} />
      </fieldset>
      <Check label="Aceita cupom" name="allow_coupon" checked={f.allow_coupon} onChange={(e) => setF({ ...f, allow_coupon: e.target.checked })} error={error} />
      <Check label="Oferta ativa" name="active" checked={f.active} onChange={(e) => setF({ ...f, active: e.target.checked })} error={error} />
      {offer && others.length > 0 && (
        <>
          <fieldset>
            <legend>Order bumps (até 5)</legend>
            {others.map((o) => (
              <Check
                key={o.id}
                label={`${o.name} (${brl(o.price_cents)})`}
                name={`bump-${o.id}`}
                checked={f.bumps.includes(o.id)}
                onChange={() => setF({ ...f, bumps: f.bumps.includes(o.id) ? f.bumps.filter((x) => x !== o.id) : [...f.bumps, o.id] })}
              />
            ))}
          </fieldset>
          <Select label="Upsell após a compra" name="offer_id" options={[['', 'Nenhum'], ...others.map((o) => [o.id, o.name] as [string, string])]} value={f.upsell} onChange={(e) => setF({ ...f, upsell: e.target.value })} error={error} />
          <Check label="Upsell com um clique" name="one_click" checked={f.one_click} onChange={(e) => setF({ ...f, one_click: e.target.checked })} />
        </>
      )}
      <FormError error={error} fields={['name', 'price_cents', 'max_installments', 'interest_free_installments', 'payment_methods', 'allow_coupon', 'active', 'offer_id']} />
      <Submit busy={busy}>{offer ? 'Salvar oferta' : 'Criar oferta'}</Submit>
    </form>
  );
}

export default function Produto() {
  const { id } = useParams();
  const product = useLoad<Product>(`/api/v1/products/${id}`);
  const offers = useLoad<{ data: Offer[] }>(`/api/v1/products/${id}/offers?limit=100`);
  const [detailed, setDetailed] = useState<Offer[]>([]);
  useEffect(() => {
    // the list omits bumps: read each offer for its form
    const list = offers.data?.data ?? [];
    void Promise.all(list.map((o) => api<Offer>('GET', `/api/v1/offers/${o.id}`).catch(() => o))).then(setDetailed);
  }, [offers.data]);
  if (product.error) return <ErrorNote error={product.error} />;
  if (!product.data) return <Loading />;
  const origin = window.location.origin;
  return (
    <section>
      <h1>{product.data.name}</h1>
      <ProductForm product={product.data} onSaved={(p) => product.setData(p)} />
      <h2>Imagem</h2>
      <ImageUpload productId={product.data.id} />
      <h2>Ofertas</h2>
      <ErrorNote error={offers.error} />
      <table>
        <thead>
          <tr>
            <th>Oferta</th>
            <th>Preço</th>
            <th>Link de checkout</th>
          </tr>
        </thead>
        <tbody>
          {(offers.data?.data ?? []).map((o) => (
            <tr key={o.id}>
              <td>{o.name}</td>
              <td>{brl(o.price_cents)}</td>
              <td>
                <a className="checkout-link" href={`/pay/${o.code}`} target="_blank" rel="noopener">
                  {`${origin}/pay/${o.code}`}
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {detailed.map((o) => (
        <OfferForm key={o.id + o.name + o.price_cents} productId={product.data!.id} offer={o} offers={detailed} onSaved={offers.reload} />
      ))}
      <OfferForm productId={product.data.id} offer={null} offers={detailed} onSaved={offers.reload} />
    </section>
  );
}
