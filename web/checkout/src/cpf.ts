// CPF: mask while typing and check digits (the same rule as libcommon br.c).
import { digits } from './format';

/** "52998224725" -> "529.982.247-25" while typing. */
export function maskCpf(text: string): string {
  const d = digits(text, 11);
  if (d.length <= 3) return d;
  if (d.length <= 6) return `${d.slice(0, 3)}.${d.slice(3)}`;
  if (d.length <= 9) return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`;
  return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`;
}

function checkDigit(d: string, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Number(d[i]) * (length + 1 - i);
  const r = (sum * 10) % 11;
  return r === 10 ? 0 : r;
}

/** True for 11 digits with valid check digits, not all the same digit. */
export function cpfIsValid(text: string): boolean {
  const d = text.replace(/\D/g, '');
  if (d.length !== 11 || /^(\d)\1{10}$/.test(d)) return false;
  return checkDigit(d, 9) === Number(d[9]) && checkDigit(d, 10) === Number(d[10]);
}
