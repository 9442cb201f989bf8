// What the buyer sees after "Finalizar compra": the thank-you view with the
// one-click upsell, the Pix QR code (polled until paid) and the boleto.
import { useEffect, useRef, useState } from 'react';
import type { OfferPage, Order } from './api-types';
import { api, ApiError, NetworkError, randomId } from './api';
import { brl, clock, dateBR } from './format';
import { CopyButton } from './fields';
import { declineMessage, messageOf } from './messages';

export function Approved({ offer, order }: { offer: OfferPage; order: Order }) {
  const upsell = offer.upsell;
  const canUpsell = !!upsell && upsell.one_click && order.payment_method === 'card' && !!order.access_token;
  const [state, setState] = useState<'offer' | 'busy' | 'paid' | 'declined' | 'skipped'>('offer');
  const [message, setMessage] = useState('');
  const attempt = useRef<string | null>(null);

  async function accept() {
    if (!upsell || !order.access_token || state === 'busy') return;
    setState('busy');
    attempt.current = attempt.current || randomId();
    try {
      const extra = await api.upsell(
        order.id, { offer_code: upsell.code, access_token: order.access_token }, attempt.current,
      );
      attempt.current = null;
      if (extra.status === 'paid') {
        setState('paid');
      } else {
        setState('declined');
        setMessage(declineMessage(undefined));
      }
    } catch (err) {
      if (err instanceof NetworkError) {
        setState('offer');
        setMessage('Falha de conexão. Tente de novo: a compra não será feita em dobro.');
        return;
      }
      attempt.current = null;
      const body = err instanceof ApiError ? err.body : null;
      setState(err instanceof ApiError && err.status === 402 ? 'declined' : 'offer');
      setMessage(
        err instanceof ApiError && err.status === 402
          ? declineMessage(body?.error?.code)
          : messageOf(body?.error?.code),
      );
    }
  }

  return (
    <section aria-live="polite">
      <h1>Pagamento aprovado</h1>
      <p>
        Obrigado pela compra de <strong>{offer.product_name}</strong>. Total pago: {brl(order.total_cents)}
        {order.card ? ` no cartão final ${order.card.last4}` : ''}.
      </p>
      <p className="muted">Você receberá o acesso no e-mail informado. Pedido {order.id}.</p>
      {canUpsell && upsell ? (
        <div className="notice good" data-testid="upsell">
          <h2>Oferta especial para você</h2>
          {state === 'paid' ? (
            <p>Compra adicional aprovada: {upsell.name}.</p>
          ) : state === 'skipped' ? (
            <p>Tudo certo. Aproveite o seu conteúdo!</p>
          ) : (
            <>
              <p>
                Adicione <strong>{upsell.name}</strong> ({upsell.product_name}) por {brl(upsell.price_cents)}, no
                mesmo cartão, com um clique.
              </p>
              {message ? <p className="error" role="alert">{message}</p> : null}
              {state !== 'declined' ? (
                <div className="inline">
                  <button type="button" className="primary" disabled={state === 'busy'} onClick={() => void accept()}>
                    Sim, quero adicionar
                  </button>
                  <button type="button" onClick={() => setState('skipped')}>
                    Não, obrigado
                  </button>
                </div>
              ) : null}
            </>
          )}
        </div>
      ) : null}
    </section>
  );
}

export function PixView({ order, onPaid }: { order: Order; onPaid: (o: Order) => void }) {
  const [qr, setQr] = useState('');
  const [now, setNow] = useState(() => Date.now());
  const [copied, setCopied] = useState(false);
  const payload = order.pix?.payload || '';
  const expiresAt = order.pix ? Date.parse(order.pix.expires_at) : 0;
  const left = Math.max(0, (expiresAt - now) / 1000);

  useEffect(() => {
    let alive = true;
    import('qrcode')
      .then((m) => m.toDataURL(payload, { margin: 1, width: 240 }))
      .then((url) => alive && setQr(url))
      .catch(() => alive && setQr(''));
    return () => {
      alive = false;
    };
  }, [payload]);

  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, []);

  // the page asks for the order until the acquirer's callback marked it paid
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    async function poll() {
      try {
        const o = await api.orderStatus(order.id, order.access_token || '');
        if (stop) return;
        if (o.status === 'paid') {
          onPaid({ ...o, access_token: order.access_token });
          return;
        }
        if (o.status === 'expired') return;
      } catch {
        // a missed poll is retried below
      }
      if (!stop) timer = setTimeout(() => void poll(), 2000);
    }
    timer = setTimeout(() => void poll(), 1500);
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [order.id, order.access_token, onPaid]);

  return (
    <section aria-live="polite">
      <h1>Pague com Pix</h1>
      <p>Total: {brl(order.total_cents)}. Escaneie o QR code no app do seu banco ou use o código copia e cola.</p>
      {qr ? <img className="qr" src={qr} alt="QR code do Pix para pagamento" width={240} height={240} /> : null}
      <p className="code" data-testid="pix-payload">{payload}</p>
      <CopyButton text={payload} label="Copiar código Pix" onCopied={() => setCopied(true)} />
      {copied ? <span className="muted"> Copiado!</span> : null}
      <p data-testid="pix-time-left">
        {left > 0 ? `Tempo restante para pagar: ${clock(left)}` : 'O código Pix expirou. Recarregue a página para gerar outro.'}
      </p>
      <p className="muted">Aguardando o pagamento… esta página se atualiza sozinha.</p>
    </section>
  );
}

export function BoletoView({ order }: { order: Order }) {
  const [copied, setCopied] = useState(false);
  const line = order.boleto?.digitable_line || '';
  return (
    <section>
      <h1>Boleto gerado</h1>
      <p>Total: {brl(order.total_cents)}. Vencimento: {order.boleto ? dateBR(order.boleto.due_date) : ''}.</p>
      <p>Linha digitável:</p>
      <p className="code" data-testid="boleto-line">{line}</p>
      <CopyButton text={line} label="Copiar linha digitável" onCopied={() => setCopied(true)} />
      {copied ? <span className="muted"> Copiado!</span> : null}
      <p className="muted">O acesso é liberado quando o banco confirmar o pagamento (até 3 dias úteis).</p>
    </section>
  );
}
