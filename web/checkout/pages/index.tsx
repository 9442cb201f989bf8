// /pay/<CODE>: the buyer's checkout page.  One static page for every offer:
// the gateway answers /pay/<CODE> with this file and the code is read from
// the address at run time.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import type { Installment, OfferPage, Order } from '../src/api-types';
import { api, ApiError, NetworkError, randomId, tokenizeCard } from '../src/api';
import { cpfIsValid, maskCpf } from '../src/cpf';
import { brl, digits, maskCard, maskExpiry, maskPhone } from '../src/format';
import { FieldError, TextField } from '../src/fields';
import { declineMessage, type Field, fieldOf, messageOf } from '../src/messages';
import { Approved, BoletoView, PixView } from '../src/results';

type Method = 'card' | 'pix' | 'boleto';
type Errors = Partial<Record<Field, string>>;
type View = { kind: 'form' } | { kind: 'approved' | 'pix' | 'boleto'; order: Order };

const methodLabels: Record<Method, string> = { card: 'Cartão de crédito', pix: 'Pix', boleto: 'Boleto' };

function codeFromAddress(): string {
  const parts = window.location.pathname.split('/').filter(Boolean);
  const at = parts.indexOf('pay');
  const fromPath = at >= 0 ? parts[at + 1] : undefined;
  const code = fromPath && fromPath !== 'index.html' ? fromPath : new URLSearchParams(window.location.search).get('code');
  return code && /^[A-Za-z0-9]{1,10}$/.test(code) ? code : '';
}

/** The affiliate ref: from ?ref= (kept for the product's cookie days), else the one kept. */
function affiliateRef(code: string, cookieDays: number): string | undefined {
  const key = `b4ref:${code}`;
  const now = Date.now();
  const fromUrl = new URLSearchParams(window.location.search).get('ref');
  try {
    if (fromUrl && /^[A-Za-z0-9_-]{1,16}$/.test(fromUrl)) {
      const expires = cookieDays > 0 ? now + cookieDays * 86400000 : 0; // 0: forever
      localStorage.setItem(key, JSON.stringify({ ref: fromUrl, expires }));
      return fromUrl;
    }
    const kept = JSON.parse(localStorage.getItem(key) || 'null') as { ref: string; expires: number } | null;
    if (kept && (kept.expires === 0 || kept.expires > now)) return kept.ref;
    localStorage.removeItem(key);
  } catch {
    // storage unavailable (private mode): the ref of the address still counts
  }
  return fromUrl || undefined;
}

function utm(): Record<string, string> {
  const out: Record<string, string> = {};
  const q = new URLSearchParams(window.location.search);
  for (const k of ['utm_source', 'utm_medium', 'utm_campaign']) {
    const v = q.get(k);
    if (v) out[k] = v.slice(0, 100);
  }
  return out;
}

const emailOk = (e: string) => /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/.test(e.trim());

export default function CheckoutPage() {
  const [code, setCode] = useState('');
  const [offer, setOffer] = useState<OfferPage | null>(null);
  const [loadError, setLoadError] = useState('');
  const [session, setSession] = useState('');
  const [ref, setRef] = useState<string | undefined>();
  const [view, setView] = useState<View>({ kind: 'form' });
  // buyer
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [cpf, setCpf] = useState('');
  const [phone, setPhone] = useState('');
  // payment
  const [method, setMethod] = useState<Method>('card');
  const [cardNumber, setCardNumber] = useState('');
  const [holder, setHolder] = useState('');
  const [expiry, setExpiry] = useState('');
  const [cvv, setCvv] = useState('');
  const [installments, setInstallments] = useState(1);
  const [table, setTable] = useState<{ amount: number; rows: Installment[] }>({ amount: 0, rows: [] });
  // cart
  const [bumps, setBumps] = useState<string[]>([]);
  const [couponText, setCouponText] = useState('');
  const [coupon, setCoupon] = useState<{ code: string; discount: number } | null>(null);
  // feedback
  const [errors, setErrors] = useState<Errors>({});
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const busyRef = useRef(false);
  // one attempt = one Idempotency-Key and one card token, kept for a retry
  // after a network error; any change to the form starts a new attempt
  const attempt = useRef<{ key: string; body: unknown } | null>(null);
  const sent = useRef<Set<string>>(new Set());
  const emailSent = useRef('');

  const track = useCallback(
    (eventName: string, extra: Record<string, unknown> = {}, once = false) => {
      if (!code || (once && sent.current.has(eventName))) return;
      sent.current.add(eventName);
      api
        .event({
          event_id: randomId(),
          event_name: eventName,
          session_id: session || undefined,
          offer_code: code,
          timestamp: new Date().toISOString(),
          ...extra,
        })
        .catch(() => undefined);
    },
    [code, session],
  );

  useEffect(() => {
    const c = codeFromAddress();
    setCode(c);
    if (!c) {
      setLoadError('Oferta não encontrada.');
      return;
    }
    api
      .offer(c)
      .then((o) => {
        setOffer(o);
        setTable({ amount: o.price_cents, rows: o.installments });
        setMethod(o.payment_methods[0] || 'card');
        const r = affiliateRef(c, o.affiliate_cookie_days);
        setRef(r);
        return api.session({ offer_code: c, ...(r ? { ref: r } : {}), ...utm() });
      })
      .then((s) => setSession(s.id))
      .catch((err) => {
        if (err instanceof ApiError && err.status === 404) setLoadError('Oferta não encontrada ou indisponível.');
        else if (!(err instanceof ApiError && err.status === 422)) setLoadError('Não foi possível carregar a oferta. Recarregue a página.');
      });
  }, []);

  useEffect(() => {
    if (offer && code) track('checkout_page_view', {}, true);
  }, [offer, code, track]);
  useEffect(() => {
    if (session) track('checkout_session_started', {}, true);
  }, [session, track]);

  const bumpTotal = offer ? offer.bumps.filter((b) => bumps.includes(b.code)).reduce((s, b) => s + b.price_cents, 0) : 0;
  const subtotal = (offer?.price_cents || 0) + bumpTotal;
  const discount = coupon?.discount || 0;
  const base = subtotal - discount;

  // the installment table of the amount due: the offer's own for its price
  // (it came with the offer), else from the API
  useEffect(() => {
    if (!offer || method !== 'card') return;
    if (base === offer.price_cents) {
      setTable({ amount: base, rows: offer.installments });
      return;
    }
    let alive = true;
    api
      .installments(offer.code, base)
      .then((t) => alive && setTable({ amount: base, rows: t.data }))
      .catch(() => undefined);
    return () => {
      alive = false;
    };
  }, [offer, base, method]);

  // until the table of the current amount arrives, the amount itself is shown
  const rows = table.amount === base ? table.rows : [];
  const plan = rows.find((t) => t.installments === installments) || rows[0];
  const total = method === 'card' && plan ? plan.total_cents : base;

  function changed(field: Field) {
    attempt.current = null;
    setNotice('');
    if (errors[field]) setErrors((e) => ({ ...e, [field]: undefined }));
  }

  function checkCpf(value: string) {
    if (digits(value, 11).length === 11 && !cpfIsValid(value)) setErrors((e) => ({ ...e, cpf: 'CPF inválido' }));
  }

  function emailTyped() {
    const e = email.trim();
    if (!emailOk(e)) {
      if (e) setErrors((x) => ({ ...x, email: 'E-mail inválido.' }));
      return;
    }
    if (session && emailSent.current !== e) {
      emailSent.current = e;
      api.sessionEmail(session, e).catch(() => {
        emailSent.current = '';
      });
    }
  }

  useEffect(() => {
    if (name.trim().length >= 2 && emailOk(email) && cpfIsValid(cpf) && digits(phone, 11).length >= 10)
      track('checkout_identification_filled', {}, true);
  }, [name, email, cpf, phone, track]);

  function chooseMethod(m: Method) {
    setMethod(m);
    changed('method');
    setInstallments(1);
    track('checkout_payment_method_selected', { payment_method: m });
    if (coupon) void applyCoupon(coupon.code, m);
  }

  function toggleBump(bumpCode: string, on: boolean) {
    changed('bumps');
    setBumps((b) => (on ? [...b, bumpCode] : b.filter((x) => x !== bumpCode)));
    if (on) track('checkout_order_bump_added', { bump_offer_code: bumpCode });
  }

  async function applyCoupon(text: string, m: Method = method) {
    if (!offer) return;
    const c = text.trim();
    changed('coupon');
    if (!c) {
      setCoupon(null);
      return;
    }
    try {
      const r = await api.coupon(offer.code, c, m);
      if (r.valid) {
        setCoupon({ code: c, discount: r.discount_cents });
        track('checkout_coupon_applied', { coupon_code: c });
      } else {
        setCoupon(null);
        setErrors((e) => ({ ...e, coupon: messageOf(r.reason) }));
      }
    } catch (err) {
      setCoupon(null);
      setErrors((e) => ({ ...e, coupon: err instanceof ApiError ? messageOf(err.body?.error?.code) : 'Falha de conexão.' }));
    }
  }

  function validate(): Errors {
    const e: Errors = {};
    if (name.trim().length < 2) e.name = 'Informe o nome completo.';
    if (!emailOk(email)) e.email = 'E-mail inválido.';
    if (!cpfIsValid(cpf)) e.cpf = 'CPF inválido';
    const p = digits(phone, 11).length;
    if (p < 10) e.phone = 'Celular inválido: informe DDD e número.';
    if (method === 'card') {
      if (digits(cardNumber, 19).length < 13) e.card_number = 'Número do cartão inválido.';
      if (holder.trim().length < 2) e.card_holder = 'Informe o nome impresso no cartão.';
      const m = /^(\d{2})\/(\d{2})$/.exec(expiry);
      if (!m || Number(m[1]) < 1 || Number(m[1]) > 12) e.card_expiry = 'Validade inválida (MM/AA).';
      if (!/^\d{3,4}$/.test(cvv)) e.card_cvv = 'CVV inválido.';
    }
    return e;
  }

  function showApiError(err: ApiError) {
    const body = err.body;
    const next: Errors = {};
    for (const item of body?.error?.errors || []) next[fieldOf(item.param)] = messageOf(item.code);
    if (body?.error) next[fieldOf(body.error.param)] = messageOf(body.error.code);
    if (next.form) {
      setNotice(next.form);
      delete next.form;
    }
    setErrors(next);
  }

  async function tokenize(): Promise<string> {
    if (!offer?.acquirer) throw new Error('no acquirer');
    const m = /^(\d{2})\/(\d{2})$/.exec(expiry) as RegExpExecArray;
    const t = await tokenizeCard(offer.acquirer.tokenize_url, offer.acquirer.public_key, {
      number: digits(cardNumber, 19),
      holder_name: holder.trim(),
      exp_month: Number(m[1]),
      exp_year: 2000 + Number(m[2]),
      cvv,
      session_id: session,
    });
    return t.token;
  }

  function orderBody(cardToken?: string) {
    return {
      offer_code: code,
      ...(session ? { session_id: session } : {}),
      ...(bumps.length ? { bump_codes: bumps } : {}),
      ...(coupon ? { coupon: coupon.code } : {}),
      ...(ref ? { ref } : {}),
      customer: { full_name: name.trim(), email: email.trim(), document: digits(cpf, 11), phone: digits(phone, 11) },
      payment:
        method === 'card' ? { method, card_token: cardToken, installments } : { method },
    };
  }

  function finished(order: Order) {
    if (order.status === 'paid') {
      track('checkout_conversion_success', { order_id: order.id, payment_method: order.payment_method });
      setView({ kind: 'approved', order });
    } else if (order.payment_method === 'pix' && order.pix) {
      setView({ kind: 'pix', order });
    } else if (order.payment_method === 'boleto' && order.boleto) {
      setView({ kind: 'boleto', order });
    } else {
      track('checkout_conversion_failed', { order_id: order.id });
      setNotice(declineMessage(undefined));
    }
    window.scrollTo(0, 0);
  }

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    if (busyRef.current || !offer) return;
    busyRef.current = true;
    setBusy(true);
    setNotice('');
    try {
      const problems = validate();
      if (Object.keys(problems).length) {
        setErrors(problems);
        return;
      }
      setErrors({});
      track('checkout_submit_clicked', { payment_method: method });
      if (!attempt.current) {
        const cardToken = method === 'card' ? await tokenize() : undefined;
        attempt.current = { key: randomId(), body: orderBody(cardToken) };
      }
      const order = await api.order(attempt.current.body, attempt.current.key);
      attempt.current = null;
      finished(order);
    } catch (err) {
      if (err instanceof NetworkError) {
        setNotice('Falha de conexão. Tente novamente: o pedido não será feito em dobro.');
      } else if (err instanceof ApiError && err.status === 402) {
        attempt.current = null;
        track('checkout_conversion_failed', { error_code: err.body?.error?.code });
        setCvv('');
        setNotice(declineMessage(err.body?.error?.code));
      } else if (err instanceof ApiError && (err.status >= 500 || err.status === 409)) {
        setNotice('Seu pagamento ainda não foi confirmado. Aguarde um instante e clique de novo: nada será cobrado em dobro.');
      } else if (err instanceof ApiError) {
        attempt.current = null;
        showApiError(err);
      } else {
        setNotice('Não foi possível concluir. Tente novamente.');
      }
    } finally {
      busyRef.current = false;
      setBusy(false);
    }
  }

  const onPixPaid = useCallback(
    (o: Order) => {
      track('checkout_conversion_success', { order_id: o.id, payment_method: 'pix' });
      setView({ kind: 'approved', order: o });
    },
    [track],
  );

  if (loadError) {
    return (
      <main>
        <section>
          <h1>{loadError}</h1>
          <p className="muted">Confira o link recebido do vendedor.</p>
        </section>
      </main>
    );
  }
  if (!offer) {
    return (
      <main>
        <section aria-busy="true">
          <p>Carregando a oferta…</p>
        </section>
      </main>
    );
  }

  const summary = (
    <aside className="summary" aria-label="Resumo do pedido">
      {offer.image_url ? <img className="product-image" src={offer.image_url} alt={offer.product_name} /> : null}
      <h1>{offer.product_name}</h1>
      <p className="muted">por {offer.producer_name}</p>
      <p className="price" data-testid="price">{brl(offer.price_cents)}</p>
      {offer.description ? <p>{offer.description}</p> : null}
      <p>Garantia de {offer.guarantee_days} dias: se não gostar, devolvemos o seu dinheiro.</p>
      <div>
        <span>{offer.name}</span>
        <span>{brl(offer.price_cents)}</span>
      </div>
      {offer.bumps
        .filter((b) => bumps.includes(b.code))
        .map((b) => (
          <div key={b.code}>
            <span>{b.name}</span>
            <span>{brl(b.price_cents)}</span>
          </div>
        ))}
      {discount ? (
        <div>
          <span>Desconto ({coupon?.code})</span>
          <span>-{brl(discount)}</span>
        </div>
      ) : null}
      {method === 'card' && plan && plan.total_cents > base ? (
        <div>
          <span>Juros do parcelamento</span>
          <span>{brl(plan.total_cents - base)}</span>
        </div>
      ) : null}
      <div className="total">
        <span>Total</span>
        <span data-testid="total">{brl(total)}</span>
      </div>
    </aside>
  );

  if (view.kind !== 'form') {
    return (
      <main>
        {view.kind === 'approved' ? <Approved offer={offer} order={view.order} /> : null}
        {view.kind === 'pix' ? <PixView order={view.order} onPaid={onPixPaid} /> : null}
        {view.kind === 'boleto' ? <BoletoView order={view.order} /> : null}
        {summary}
      </main>
    );
  }

  return (
    <main>
      <section>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <h2>Seus dados</h2>
          <TextField id="name" label="Nome completo" autoComplete="name" value={name} error={errors.name}
            onChange={(v) => { setName(v); changed('name'); }} maxLength={200} />
          <TextField id="email" label="E-mail" type="email" inputMode="email" autoComplete="email" value={email}
            error={errors.email} onChange={(v) => { setEmail(v); changed('email'); }} onBlur={emailTyped} maxLength={254} />
          <div className="row">
            <TextField id="cpf" label="CPF" inputMode="numeric" value={cpf} error={errors.cpf} placeholder="000.000.000-00"
              onChange={(v) => { const m = maskCpf(v); setCpf(m); changed('cpf'); checkCpf(m); }} onBlur={() => checkCpf(cpf)} />
            <TextField id="phone" label="Celular" type="tel" inputMode="tel" autoComplete="tel" value={phone}
              error={errors.phone} placeholder="(11) 98765-4321" onChange={(v) => { setPhone(maskPhone(v)); changed('phone'); }} />
          </div>

          {offer.bumps.length ? (
            <>
              <h2>Aproveite também</h2>
              {offer.bumps.map((b) => (
                <div className="check" key={b.code}>
                  <input id={`bump-${b.code}`} type="checkbox" checked={bumps.includes(b.code)}
                    onChange={(e) => toggleBump(b.code, e.target.checked)} />
                  <label htmlFor={`bump-${b.code}`}>
                    {b.name} ({b.product_name}) por mais {brl(b.price_cents)}
                  </label>
                </div>
              ))}
              {errors.bumps ? <FieldError>{errors.bumps}</FieldError> : null}
            </>
          ) : null}

          {offer.coupons_allowed ? (
            <div className="field">
              <label htmlFor="coupon">Cupom de desconto</label>
              <div className="inline">
                <input id="coupon" type="text" value={couponText} aria-invalid={errors.coupon ? true : undefined}
                  aria-describedby={errors.coupon ? 'coupon-error' : undefined}
                  onChange={(e) => { setCouponText(e.target.value.toUpperCase()); changed('coupon'); }} />
                <button type="button" onClick={() => void applyCoupon(couponText)}>Aplicar</button>
              </div>
              {errors.coupon ? <FieldError id="coupon-error">{errors.coupon}</FieldError> : null}
              {coupon ? <span className="muted" data-testid="coupon-ok">Cupom {coupon.code} aplicado: -{brl(coupon.discount)}. Novo total: {brl(total)}</span> : null}
            </div>
          ) : null}

          <h2>Pagamento</h2>
          <fieldset className="methods">
            <legend className="muted">Forma de pagamento</legend>
            {offer.payment_methods.map((m) => (
              <label key={m} htmlFor={`method-${m}`}>
                <input id={`method-${m}`} type="radio" name="method" value={m} checked={method === m}
                  onChange={() => chooseMethod(m)} /> {methodLabels[m]}
              </label>
            ))}
          </fieldset>
          {errors.method ? <FieldError>{errors.method}</FieldError> : null}

          {method === 'card' ? (
            <>
              <TextField id="card_number" label="Número do cartão" inputMode="numeric" autoComplete="cc-number"
                value={cardNumber} error={errors.card_number} onChange={(v) => { setCardNumber(maskCard(v)); changed('card_number'); }} />
              <TextField id="card_holder" label="Nome impresso no cartão" autoComplete="cc-name" value={holder}
                error={errors.card_holder} onChange={(v) => { setHolder(v.toUpperCase()); changed('card_holder'); }} />
              <div className="row">
                <TextField id="card_expiry" label="Validade" inputMode="numeric" autoComplete="cc-exp" placeholder="MM/AA"
                  value={expiry} error={errors.card_expiry} onChange={(v) => { setExpiry(maskExpiry(v)); changed('card_expiry'); }} />
                <TextField id="card_cvv" label="CVV" inputMode="numeric" autoComplete="cc-csc" value={cvv} maxLength={4}
                  error={errors.card_cvv} onChange={(v) => { setCvv(digits(v, 4)); changed('card_cvv'); }} />
              </div>
              <div className="field">
                <label htmlFor="installments">Parcelas</label>
                <select id="installments" value={installments}
                  onChange={(e) => { setInstallments(Number(e.target.value)); changed('installments'); }}>
                  {(rows.length ? rows : table.rows).map((t) => (
                    <option key={t.installments} value={t.installments}>
                      {t.installments}x de {brl(t.installment_cents)}
                      {t.interest_free ? ' sem juros' : ` (total ${brl(t.total_cents)})`}
                    </option>
                  ))}
                </select>
                {errors.installments ? <FieldError>{errors.installments}</FieldError> : null}
              </div>
            </>
          ) : method === 'pix' ? (
            <p className="muted">O QR code do Pix aparece depois de finalizar. A aprovação é imediata.</p>
          ) : (
            <p className="muted">O boleto vence em poucos dias; o acesso é liberado após a compensação.</p>
          )}

          {notice ? <div className="notice bad" role="alert">{notice}</div> : null}
          <button type="submit" className="primary" disabled={busy}>
            Finalizar compra
          </button>
          <p className="muted">Pagamento processado com segurança. Os dados do cartão vão direto para o processador.</p>
        </form>
      </section>
      {summary}
    </main>
  );
}
