// The checkout API shapes the page uses, derived from the contract
// (web/contract/schema.d.ts, generated from docs/openapi.yaml), so that
// `tsc --noEmit` fails when the page reads something the spec does not
// promise.  The spec marks most fields optional; the page takes the ones
// the services always send as present (Strict), and keeps optional what is
// truly optional (pix, boleto, card, access_token, reason, param, errors).
import type { components, operations } from '../../contract/schema';

type Strict<T> = T extends ReadonlyArray<infer U>
  ? Strict<U>[]
  : T extends object
    ? { [K in keyof T]-?: Strict<Exclude<T[K], undefined>> }
    : T;
type Json200<Op extends keyof operations> = operations[Op]['responses'] extends { 200: { content: { 'application/json': infer B } } } ? B : never;
type Json201<Op extends keyof operations> = operations[Op]['responses'] extends { 201: { content: { 'application/json': infer B } } } ? B : never;
type Schemas = components['schemas'];

export type OfferPage = Strict<Json200<'getCheckoutOffer'>>;
export type Installment = Strict<Schemas['InstallmentRow']>;
export type Bump = OfferPage['bumps'][number];
export type Upsell = NonNullable<OfferPage['upsell']>;
export type AcquirerInfo = NonNullable<OfferPage['acquirer']>;
export type Session = Strict<Json201<'createCheckoutSession'>>;
type CouponSpec = Json200<'checkCheckoutCoupon'>;
export type CouponCheck = Strict<Omit<CouponSpec, 'reason'>> & Pick<CouponSpec, 'reason'>;
export type CardToken = Strict<Json201<'createCardToken'>>;

type OrderSpec = Schemas['Order'];
type OrderOptional = 'pix' | 'boleto' | 'card' | 'access_token' | 'paid_at' | 'parent_order_id';
export type Order = Strict<Omit<OrderSpec, OrderOptional>> & {
  pix?: Strict<NonNullable<OrderSpec['pix']>>;
  boleto?: Strict<NonNullable<OrderSpec['boleto']>>;
  card?: Strict<NonNullable<OrderSpec['card']>>;
  access_token?: string;
  paid_at?: string | null;
};

type ErrorSpec = Schemas['Error'];
export type ApiErrorBody = ErrorSpec;
export type ApiErrorItem = Schemas['FieldError'];
