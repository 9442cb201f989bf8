// api.ts - the one HTTP client of the app: the access token lives in
// memory only; the refresh token is an HttpOnly cookie the browser sends
// to /api/v1/auth/* (never readable here, never in a URL).  A 401 triggers
// one shared refresh and one retry; when the refresh fails the session
// ends and the app shows the login again.

import type { components } from '../../contract/schema';

/** The API's schemas, generated from docs/openapi.yaml (web/contract). */
export type Schemas = components['schemas'];
export type User = Schemas['User'];

export interface FieldError {
  param?: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  status: number;
  code: string;
  param?: string;
  errors: FieldError[];
  constructor(status: number, code: string, message: string, param?: string, errors: FieldError[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
    this.errors = errors;
  }
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
}

const ENDED = 'Sua sessão terminou. Entre novamente.';
let accessToken: string | null = null;
let user: User | null = null;
let endedReason: string | null = null;
const listeners = new Set<() => void>();
let refreshing: Promise<boolean> | null = null;

export function sessionUser(): User | null {
  return user;
}

export function sessionEndedReason(): string | null {
  return endedReason;
}

export function onSession(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setSession(token: string | null, who: User | null, reason: string | null = null) {
  accessToken = token;
  user = who;
  endedReason = reason;
  listeners.forEach((fn) => fn());
}

interface TokenAnswer {
  token: string;
  user: User;
}

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  if (accessToken) h.Authorization = `Bearer ${accessToken}`;
  const raw = body instanceof Blob;
  if (body !== undefined && !raw) h['Content-Type'] = 'application/json';
  return fetch(path, {
    method,
    headers: h,
    body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
}

async function failure(res: Response): Promise<ApiError> {
  let payload: any = null;
  try {
    payload = await res.json();
  } catch {
    payload = null;
  }
  const e = payload?.error;
  return new ApiError(
    res.status,
    e?.code ?? 'http_' + res.status,
    e?.message ?? `Erro ${res.status}`,
    e?.param,
    Array.isArray(payload?.errors) ? payload.errors : [],
  );
}

/** Exchanges the refresh cookie for a new access token (one at a time). */
export function refreshSession(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        let res = await fetch('/api/v1/auth/refresh', { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
        // 409: another tab rotated the token a moment ago; the cookie jar
        // now holds its successor, so one more try succeeds
        if (res.status === 409) {
          await new Promise((r) => setTimeout(r, 300));
          res = await fetch('/api/v1/auth/refresh', { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
        }
        if (!res.ok) return false;
        const answer = (await res.json()) as TokenAnswer;
        setSession(answer.token, answer.user);
        return true;
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

/** Calls the API; JSON in and out.  Throws ApiError. */
export async function api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  const res = await authorized(method, path, body, headers);
  if (res.status === 204) return null as T;
  return (await res.json()) as T;
}

/** Like api, but answers the raw response (CSV downloads). */
export async function authorized(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response> {
  const hadSession = accessToken !== null;
  let res = await send(method, path, body, headers);
  if (res.status === 401 && hadSession) {
    if (await refreshSession()) res = await send(method, path, body, headers);
    if (res.status === 401) {
      setSession(null, null, ENDED);
      throw new ApiError(401, 'session_ended', ENDED);
    }
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function login(email: string, password: string): Promise<User> {
  const answer = await api<TokenAnswer>('POST', '/api/v1/auth/login', { email, password });
  setSession(answer.token, answer.user);
  return answer.user;
}

export async function signup(fields: Record<string, string>): Promise<User> {
  const answer = await api<TokenAnswer>('POST', '/api/v1/auth/signup', fields);
  setSession(answer.token, answer.user);
  return answer.user;
}

export async function logout(): Promise<void> {
  try {
    await fetch('/api/v1/auth/logout', { method: 'POST', credentials: 'same-origin' });
  } finally {
    setSession(null, null, null);
  }
}

/** A query string from the non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

/** A fresh Idempotency-Key (one per refund attempt). */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}

/** Saves a downloaded body as a file. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await authorized('GET', path);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
