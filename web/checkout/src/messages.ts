// What the buyer reads when the API or the acquirer refuses something:
// Portuguese words by error code, and the form field each API param names.

export type Field =
  | 'name' | 'email' | 'cpf' | 'phone' | 'coupon' | 'bumps'
  | 'card_number' | 'card_holder' | 'card_expiry' | 'card_cvv' | 'installments'
  | 'method' | 'form';

const byParam: Record<string, Field> = {
  'customer.full_name': 'name',
  'customer.email': 'email',
  email: 'email',
  'customer.document': 'cpf',
  'customer.phone': 'phone',
  coupon: 'coupon',
  bump_codes: 'bumps',
  'payment.card_token': 'card_number',
  'payment.installments': 'installments',
  'payment.method': 'method',
  number: 'card_number',
  holder_name: 'card_holder',
  exp_month: 'card_expiry',
  exp_year: 'card_expiry',
  cvv: 'card_cvv',
  session_id: 'form',
};

export function fieldOf(param: string | undefined): Field {
  return (param && byParam[param]) || 'form';
}

const byCode: Record<string, string> = {
  invalid_email: 'E-mail inválido.',
  invalid_document: 'CPF inválido',
  invalid_phone: 'Celular inválido: informe DDD e número.',
  invalid_card_number: 'Número do cartão inválido.',
  invalid_expiry: 'Validade inválida ou vencida.',
  invalid_cvv: 'CVV inválido.',
  invalid_card_token: 'Não foi possível usar este cartão. Digite os dados novamente.',
  card_token_expired: 'Os dados do cartão expiraram. Digite-os novamente.',
  card_token_used: 'Os dados do cartão já foram usados. Digite-os novamente.',
  card_token_session_mismatch: 'Os dados do cartão não valem para esta compra. Digite-os novamente.',
  too_many_installments: 'Número de parcelas não permitido.',
  payment_method_not_allowed: 'Esta forma de pagamento não está disponível.',
  coupon_not_found: 'Cupom não encontrado.',
  coupon_expired: 'Cupom expirado.',
  coupon_used_up: 'Cupom esgotado.',
  coupons_not_allowed: 'Esta oferta não aceita cupons.',
  below_minimum_amount: 'O valor da compra não atinge o mínimo do cupom.',
  payment_method_not_eligible: 'Cupom não vale para esta forma de pagamento.',
  already_used_by_customer: 'Você já usou este cupom.',
  missing_field: 'Campo obrigatório.',
  too_short: 'Campo muito curto.',
  too_long: 'Campo muito longo.',
  rate_limited: 'Muitas tentativas. Aguarde um minuto e tente de novo.',
  card_declined: 'Pagamento recusado pelo banco emissor. Tente outro cartão ou outra forma de pagamento.',
  insufficient_funds: 'Pagamento recusado: saldo ou limite insuficiente. Tente outro cartão ou outra forma de pagamento.',
  fraud_suspected: 'Pagamento recusado por segurança. Tente outra forma de pagamento.',
  acquirer_unavailable: 'O processador de pagamentos não respondeu. Tente novamente.',
};

export function messageOf(code: string | undefined, fallback?: string): string {
  if (code && byCode[code]) return byCode[code];
  return fallback || 'Não foi possível concluir. Verifique os dados e tente novamente.';
}

/** The refusal of a card payment, in plain words, always "Pagamento recusado ...". */
export function declineMessage(code: string | undefined): string {
  const m = code ? byCode[code] : undefined;
  if (m && m.startsWith('Pagamento recusado')) return m;
  return 'Pagamento recusado. Tente outro cartão ou outra forma de pagamento.';
}
