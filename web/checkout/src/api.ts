// Calls to b4-checkout through the gateway (/checkout/v1) and to the
// acquirer's public tokenization endpoint.
import type {
  ApiErrorBody, CardToken, CouponCheck, Installment, OfferPage, Order, Session,
} from './api-types';

const base = `${process.env.NEXT_PUBLIC_API_BASE || ''}/checkout/v1`;

/** An answer other than 2xx, with its error body when it had one. */
export class ApiError extends Error {
  status: number;
  body: ApiErrorBody | null;
  constructor(status: number, body: ApiErrorBody | null) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** No answer at all (offline, connection reset): the request may or may not have run. */
export class NetworkError extends Error {}

async function call<T>(url: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch {
    throw new NetworkError('network');
  }
  const text = await res.text().catch(() => '');
  let json: unknown = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, json as ApiErrorBody | null);
  return json as T;
}

function post<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  return call<T>(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export const api = {
  offer: (code: string) => call<OfferPage>(`${base}/offers/${encodeURIComponent(code)}`, {}),
  installments: (code: string, amountCents: number) =>
    call<{ data: Installment[] }>(
      `${base}/offers/${encodeURIComponent(code)}/installments?amount_cents=${amountCents}`,
      {},
    ),
  coupon: (code: string, coupon: string, method: string) =>
    call<CouponCheck>(
      `${base}/offers/${encodeURIComponent(code)}/coupons/${encodeURIComponent(coupon)}?payment_method=${method}`,
      {},
    ),
  session: (body: Record<string, string>) => post<Session>('/sessions', body),
  sessionEmail: (id: string, email: string) =>
    call<unknown>(`${base}/sessions/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email }),
    }),
  event: (body: Record<string, unknown>) => post<unknown>('/events', body),
  order: (body: unknown, idempotencyKey: string) =>
    post<Order>('/orders', body, { 'Idempotency-Key': idempotencyKey }),
  orderStatus: (id: string, accessToken: string) =>
    call<Order>(`${base}/orders/${id}?access_token=${encodeURIComponent(accessToken)}`, {}),
  upsell: (id: string, body: unknown, idempotencyKey: string) =>
    post<Order>(`/orders/${id}/upsell`, body, { 'Idempotency-Key': idempotencyKey }),
};

/** Sends the card to the acquirer (never to b4): its token, bound to the session. */
export function tokenizeCard(
  url: string, publicKey: string, card: Record<string, unknown>,
): Promise<CardToken> {
  return call<CardToken>(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${publicKey}` },
    body: JSON.stringify(card),
  });
}

/** A random id (Idempotency-Key, funnel event id). */
export function randomId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
