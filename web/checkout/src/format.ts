// Money and text formats of the page (pt-BR).
const brlFormat = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });

/** "R$ 297,00" for 29700 cents. */
export function brl(cents: number): string {
  return brlFormat.format(cents / 100);
}

/** Only the digits of text, at most max of them. */
export function digits(text: string, max: number): string {
  return text.replace(/\D/g, '').slice(0, max);
}

/** "11987654321" -> "(11) 98765-4321" while typing. */
export function maskPhone(text: string): string {
  const d = digits(text, 11);
  if (d.length <= 2) return d.length ? `(${d}` : '';
  if (d.length <= 6) return `(${d.slice(0, 2)}) ${d.slice(2)}`;
  if (d.length <= 10) return `(${d.slice(0, 2)}) ${d.slice(2, 6)}-${d.slice(6)}`;
  return `(${d.slice(0, 2)}) ${d.slice(2, 7)}-${d.slice(7)}`;
}

/** "4111111111111111" -> "4111 1111 1111 1111". */
export function maskCard(text: string): string {
  return digits(text, 19).replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** "1231" -> "12/31". */
export function maskExpiry(text: string): string {
  const d = digits(text, 4);
  return d.length > 2 ? `${d.slice(0, 2)}/${d.slice(2)}` : d;
}

/** "2026-12-05" -> "05/12/2026". */
export function dateBR(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : iso;
}

/** Seconds as "mm:ss" (or "h:mm:ss"). */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
