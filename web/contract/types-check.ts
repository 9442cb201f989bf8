// Compiled by `npm run typecheck` (tsc --noEmit): the generated types load
// and name what the front-ends import. A rename in docs/openapi.yaml that
// breaks these names breaks this file first.
import type { components, paths, webhooks } from './schema';

type Schemas = components['schemas'];
export type ApiError = Schemas['Error'];
export type Order = Schemas['Order'];
export type OrderCreate =
  paths['/checkout/v1/orders']['post']['requestBody']['content']['application/json'];
export type OfferPage =
  paths['/checkout/v1/offers/{code}']['get']['responses']['200']['content']['application/json'];
export type Sale = Schemas['Sale'];
export type AdminOrder = Schemas['AdminOrder'];
export type LoginAnswer =
  paths['/api/v1/auth/login']['post']['responses']['200']['content']['application/json'];
export type WebhookEvent = keyof webhooks;
export type ApprovedPaymentBody =
  webhooks['approved-payment']['post']['requestBody']['content']['application/json'];

// a webhook receiver reads the order from the typed body: the producer's
// delivery carries the order and its buyer, an affiliate's or co-producer's
// only its own part (role and amount)
export function paidTotal(body: ApprovedPaymentBody): number {
  if (body.event !== 'approved-payment') return 0;
  return 'total_cents' in body.data ? body.data.total_cents : body.data.amount_cents;
}

export type AbandonedCartBody =
  webhooks['abandoned-cart']['post']['requestBody']['content']['application/json'];

// only the producer's abandoned-cart delivery names the lead
export function leadEmail(body: AbandonedCartBody): string | null {
  return 'lead' in body.data ? body.data.lead.email : null;
}

// what a login answer carries, by name
export function bearer(answer: LoginAnswer): string {
  return `Bearer ${answer.token}`;
}

// the error shape a form reads: the first bad field and every bad field
export function fieldErrors(e: ApiError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of e.error.errors ?? []) out[item.param] = item.message;
  if (e.error.param && !(e.error.param in out)) out[e.error.param] = e.error.message;
  return out;
}
