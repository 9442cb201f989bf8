// ui.tsx - the pieces every form and list uses: labelled fields whose
// server errors sit next to them, a busy state while a request runs,
// money and date formatting in pt-BR.
import { useCallback, useId, useState, type ReactNode } from 'react';
import { ApiError, type FieldError } from './api';

const MESSAGES: Record<string, string> = {
  missing_field: 'Campo obrigatório.',
  invalid_length: 'Tamanho inválido.',
  invalid_type: 'Tipo de valor inválido.',
  invalid_value: 'Valor inválido.',
  out_of_range: 'Valor fora do intervalo permitido.',
  invalid_text: 'Texto com caracteres não permitidos.',
  invalid_email: 'Informe um e-mail válido.',
  email_taken: 'Já existe uma conta com este e-mail.',
  invalid_credentials: 'E-mail ou senha incorretos.',
  account_blocked: 'Esta conta está bloqueada.',
  too_many_attempts: 'Muitas tentativas. Tente novamente mais tarde.',
  invalid_document: 'Informe um CPF ou CNPJ válido.',
  code_taken: 'Este código já existe neste produto.',
  already_coproducer: 'Esta pessoa já é coprodutora.',
  unknown_member: 'Não há conta com este e-mail.',
  share_too_high: 'O produtor precisa manter ao menos 30%.',
  url_not_allowed: 'Endereço não permitido.',
  not_refundable: 'Só uma venda paga pode ser reembolsada.',
  order_not_refundable: 'Este pedido não pode ser reembolsado.',
  order_fully_refunded: 'Este pedido já foi reembolsado por inteiro.',
  amount_too_large: 'Valor maior que o disponível para reembolso.',
  amount_too_small: 'Valor abaixo do mínimo.',
  duplicate_value: 'Valor repetido.',
  already_decided: 'Esta solicitação já foi decidida.',
  already_requested: 'Você já pediu para afiliar-se a este produto.',
  own_product: 'Você não pode se afiliar ao próprio produto.',
  cannot_block_self: 'Você não pode bloquear a própria conta.',
  cannot_demote_self: 'Você não pode remover o próprio papel de administrador.',
  job_not_dead: 'Este job não está morto.',
  export_not_ready: 'A exportação ainda não terminou.',
  report_not_ready: 'O relatório ainda não terminou.',
  session_ended: 'Sua sessão terminou. Entre novamente.',
  unknown_field: 'Campo não aceito.',
  too_many_items: 'Itens demais.',
  busy: 'Servidor ocupado. Tente novamente em instantes.',
  file_too_large: 'Arquivo grande demais.',
  unsupported_media_type: 'Formato de imagem não aceito (use JPEG, PNG ou WebP).',
};

/** A Portuguese message for an API error code. */
export function messageFor(code: string, status?: number): string {
  if (MESSAGES[code]) return MESSAGES[code];
  if (status === 404) return 'Não encontrado.';
  if (status === 403) return 'Você não tem permissão para isso.';
  if (status && status >= 500) return 'O serviço está indisponível. Tente novamente.';
  return `Não foi possível concluir (${code}).`;
}

/** The message for field `param` from an ApiError, if it names it. */
export function fieldError(err: unknown, param: string): string | undefined {
  if (!(err instanceof ApiError)) return undefined;
  const list: FieldError[] = err.errors.length ? err.errors : err.param ? [{ param: err.param, code: err.code, message: err.message }] : [];
  const hit = list.find((e) => e.param === param);
  return hit ? messageFor(hit.code) : undefined;
}

/** The general error of a form (the part no field shows). */
export function FormError({ error, fields }: { error: unknown; fields: string[] }) {
  if (!error) return null;
  if (error instanceof ApiError) {
    const named = (error.errors.length ? error.errors.map((e) => e.param) : [error.param]).filter(Boolean) as string[];
    if (named.length && named.every((p) => fields.includes(p))) return null;
    return (
      <p className="form-error" role="alert">
        {messageFor(error.code, error.status)}
      </p>
    );
  }
  return (
    <p className="form-error" role="alert">
      Falha de conexão. Tente novamente.
    </p>
  );
}

/** Runs an async action with a busy flag and its error. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

type InputProps = React.InputHTMLAttributes<HTMLInputElement> & { label: string; name: string; error?: unknown; hint?: string };

/** A labelled input; the server's error for `name` shows below it. */
export function Field({ label, name, error, hint, ...rest }: InputProps) {
  const id = useId();
  const msg = fieldError(error, name);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} aria-invalid={msg ? true : undefined} aria-describedby={msg ? id + '-err' : undefined} {...rest} />
      {hint && <small>{hint}</small>}
      {msg && (
        <p className="field-error" id={id + '-err'}>
          {msg}
        </p>
      )}
    </div>
  );
}

type SelectProps = React.SelectHTMLAttributes<HTMLSelectElement> & {
  label: string;
  name: string;
  error?: unknown;
  options: [string, string][];
};

export function Select({ label, name, error, options, ...rest }: SelectProps) {
  const id = useId();
  const msg = fieldError(error, name);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} aria-invalid={msg ? true : undefined} {...rest}>
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {msg && <p className="field-error">{msg}</p>}
    </div>
  );
}

export function TextArea({ label, name, error, ...rest }: React.TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; name: string; error?: unknown }) {
  const id = useId();
  const msg = fieldError(error, name);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} name={name} aria-invalid={msg ? true : undefined} {...rest} />
      {msg && <p className="field-error">{msg}</p>}
    </div>
  );
}

export function Check({ label, name, error, ...rest }: InputProps) {
  const id = useId();
  const msg = fieldError(error, name);
  return (
    <div className="check">
      <input id={id} type="checkbox" name={name} {...rest} />
      <label htmlFor={id}>{label}</label>
      {msg && <p className="field-error">{msg}</p>}
    </div>
  );
}

/** A submit button that says it is busy. */
export function Submit({ busy, children }: { busy: boolean; children: ReactNode }) {
  return (
    <button type="submit" disabled={busy} aria-busy={busy}>
      {busy ? 'Aguarde…' : children}
    </button>
  );
}

const money = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
export function brl(cents: number | null | undefined): string {
  return money.format((cents ?? 0) / 100);
}

/** "97,00", "1.297,5", "R$ 97" -> cents; null when not a price. */
export function parseReais(text: string): number | null {
  const t = text.replace(/R\$|\s/g, '');
  const m = /^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$/.exec(t) ?? /^(\d+)(?:\.(\d{1,2}))?$/.exec(t);
  if (!m) return null;
  const whole = Number(m[1].replace(/\./g, ''));
  const frac = m[2] ? Number(m[2].padEnd(2, '0')) : 0;
  return whole * 100 + frac;
}

export function reais(cents: number): string {
  return (cents / 100).toFixed(2).replace('.', ',');
}

const dateTime = new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'short', timeZone: 'America/Sao_Paulo' });
export function when(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

export const STATUS: Record<string, string> = {
  waiting_payment: 'Aguardando pagamento',
  paid: 'Paga',
  refused: 'Recusada',
  expired: 'Expirada',
  refund_requested: 'Reembolso solicitado',
  refunded: 'Reembolsada',
  disputed: 'Em disputa',
  chargeback: 'Chargeback',
};

export const METHOD: Record<string, string> = { card: 'Cartão', pix: 'Pix', boleto: 'Boleto' };
export const PARTY: Record<string, string> = { platform: 'Plataforma', producer: 'Produtor', coproducer: 'Coprodutor', affiliate: 'Afiliado' };
export const SPLIT_STATUS: Record<string, string> = { waiting: 'Aguardando liberação', released: 'Liberado', reversed: 'Estornado' };
export const CHARGE_STATUS: Record<string, string> = {
  pending: 'Pendente',
  approved: 'Aprovada',
  declined: 'Recusada',
  error: 'Erro',
  refunded: 'Reembolsada',
  partially_refunded: 'Reembolsada em parte',
  chargeback: 'Chargeback',
};
export const DELIVERY_STATUS: Record<string, string> = { pending: 'Pendente', succeeded: 'Entregue', failed: 'Falhou' };
export const INVOICE_STATUS: Record<string, string> = { pending: 'Pendente', issued: 'Emitida', failed: 'Falhou', cancelled: 'Cancelada' };
/** label[value], or the value itself when unlisted. */
export const label = (labels: Record<string, string>, value: string | null | undefined) => (value ? labels[value] ?? value : '—');

export function Loading() {
  return <p aria-busy="true">Carregando…</p>;
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? messageFor(error.code, error.status) : 'Falha de conexão. Tente novamente.';
  return (
    <p className="form-error" role="alert">
      {text}
    </p>
  );
}
