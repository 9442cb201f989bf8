// auth.tsx - login and sign-up.
import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { login, signup } from './api';
import { Field, FormError, Submit, useAction } from './ui';

export function Login({ area, notice }: { area: 'painel' | 'admin'; notice: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const navigate = useNavigate();
  return (
    <main className="narrow">
      <h1>{area === 'admin' ? 'Back-office' : 'Entrar no painel'}</h1>
      {notice && !error && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await login(email, password);
            navigate('/', { replace: true });
          });
        }}
      >
        <Field label="E-mail" name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} error={error} />
        <Field label="Senha" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={error} />
        <FormError error={error} fields={['email', 'password']} />
        <Submit busy={busy}>Entrar</Submit>
      </form>
      {area === 'painel' && (
        <p>
          Ainda não tem conta? <Link to="/cadastro">Criar conta</Link>
        </p>
      )}
    </main>
  );
}

export function Signup() {
  const [f, setF] = useState({ full_name: '', email: '', password: '', document: '' });
  const { busy, error, run } = useAction();
  const navigate = useNavigate();
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement>) => setF({ ...f, [k]: e.target.value });
  return (
    <main className="narrow">
      <h1>Criar conta</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const body: Record<string, string> = { full_name: f.full_name, email: f.email, password: f.password };
          if (f.document.trim()) body.document = f.document.trim();
          void run(async () => {
            await signup(body);
            navigate('/', { replace: true });
          });
        }}
      >
        <Field label="Nome completo" name="full_name" required value={f.full_name} onChange={set('full_name')} error={error} />
        <Field label="E-mail" name="email" type="email" autoComplete="username" required value={f.email} onChange={set('email')} error={error} />
        <Field label="Senha" name="password" type="password" autoComplete="new-password" required minLength={10} value={f.password} onChange={set('password')} error={error} hint="Ao menos 10 caracteres." />
        <Field label="CPF ou CNPJ (opcional)" name="document" value={f.document} onChange={set('document')} error={error} />
        <FormError error={error} fields={['full_name', 'email', 'password', 'document']} />
        <Submit busy={busy}>Criar conta</Submit>
      </form>
      <p>
        Já tem conta? <Link to="/">Entrar</Link>
      </p>
    </main>
  );
}
