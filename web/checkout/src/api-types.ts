// The checkout API shapes the page uses.  Temporary: replaced by the types
// generated from docs/openapi.yaml into web/contract/ (branch contract), so
// that `tsc --noEmit` proves the page and the spec agree.

export interface Installment {
  installments: number;
  installment_cents: number;
  first_installment_cents?: number;
  total_cents: number;
  interest_free: boolean;
}

export interface Bump {
  code: string;
  name: string;
  price_cents: number;
  product_name: string;
}

export interface Upsell {
  code: string;
  name: string;
  product_name: string;
  price_cents: number;
  one_click: boolean;
}

export interface AcquirerInfo {
  name: string;
  tokenize_url: string;
  public_key: string;
}

export interface OfferPage {
  code: string;
  name: string;
  product_name: string;
  producer_name: string;
  price_cents: number;
  currency: string;
  max_installments: number;
  interest_free_installments: number;
  payment_methods: Array<'card' | 'pix' | 'boleto'>;
  installments: Installment[];
  bumps: Bump[];
  coupons_allowed: boolean;
  description: string | null;
  image_url: string | null;
  guarantee_days: number;
  affiliate_cookie_days: number;
  upsell: Upsell | null;
  acquirer: AcquirerInfo | null;
}

export interface Session {
  id: string;
  offer_code: string;
  affiliated: boolean;
}

export interface CouponCheck {
  valid: boolean;
  discount_cents: number;
  price_cents: number;
  reason?: string;
}

export interface Order {
  id: string;
  status: string;
  payment_method: 'card' | 'pix' | 'boleto';
  installments: number;
  subtotal_cents: number;
  discount_cents: number;
  interest_cents: number;
  total_cents: number;
  items: Array<{ offer_code: string; name?: string; type: string; price_cents: number }>;
  pix?: { payload: string; expires_at: string };
  boleto?: { barcode: string; digitable_line: string; due_date: string };
  card?: { brand: string; last4: string };
  access_token?: string;
  created_at: string;
  paid_at?: string | null;
}

export interface ApiErrorItem {
  param?: string;
  code: string;
  message: string;
}

export interface ApiErrorBody {
  error: { type: string; code: string; message: string; param?: string; order_id?: string };
  errors?: ApiErrorItem[];
  request_id?: string;
}

export interface CardToken {
  token: string;
  brand: string;
  last4: string;
}
