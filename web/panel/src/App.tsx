// App.tsx - the session gate and the two route tables (code-split pages).
import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from 'react';
import { BrowserRouter, Navigate, NavLink, Route, Routes } from 'react-router-dom';
import { logout, onSession, refreshSession, sessionEndedReason, sessionUser } from './api';
import { Login, Signup } from './auth';
import { Loading } from './ui';

const Inicio = lazy(() => import('./panel/Inicio'));
const Produtos = lazy(() => import('./panel/Produtos'));
const Produto = lazy(() => import('./panel/Produto'));
const Cupons = lazy(() => import('./panel/Cupons'));
const Coprodutores = lazy(() => import('./panel/Coprodutores'));
const Afiliados = lazy(() => import('./panel/Afiliados'));
const Vendas = lazy(() => import('./panel/Vendas'));
const Venda = lazy(() => import('./panel/Venda'));
const Webhooks = lazy(() => import('./panel/Webhooks'));

const Pedidos = lazy(() => import('./admin/Pedidos'));
const Pedido = lazy(() => import('./admin/Pedido'));
const Usuarios = lazy(() => import('./admin/Usuarios'));
const AdminProdutos = lazy(() => import('./admin/Produtos'));
const Afiliacoes = lazy(() => import('./admin/Afiliacoes'));
const Jobs = lazy(() => import('./admin/Jobs'));
const Entregas = lazy(() => import('./admin/Entregas'));
const Adquirentes = lazy(() => import('./admin/Adquirentes'));
const Relatorios = lazy(() => import('./admin/Relatorios'));
const Auditoria = lazy(() => import('./admin/Auditoria'));
const Analises = lazy(() => import('./admin/Analises'));

function useSession() {
  return useSyncExternalStore(onSession, sessionUser);
}

const PANEL_NAV: [string, string][] = [
  ['/', 'Início'],
  ['/produtos', 'Produtos'],
  ['/cupons', 'Cupons'],
  ['/coprodutores', 'Coprodutores'],
  ['/afiliados', 'Afiliados'],
  ['/vendas', 'Vendas'],
  ['/webhooks', 'Webhooks'],
];

const ADMIN_NAV: [string, string][] = [
  ['/', 'Pedidos'],
  ['/usuarios', 'Usuários'],
  ['/produtos', 'Produtos'],
  ['/afiliacoes', 'Afiliações'],
  ['/jobs', 'Jobs mortos'],
  ['/entregas', 'Entregas com falha'],
  ['/adquirentes', 'Adquirentes'],
  ['/relatorios', 'Relatórios'],
  ['/auditoria', 'Auditoria'],
  ['/analises', 'Análises'],
];

function Shell({ area, children }: { area: 'painel' | 'admin'; children: React.ReactNode }) {
  const user = useSession();
  const nav = area === 'admin' ? ADMIN_NAV : PANEL_NAV;
  return (
    <div className="shell">
      <header>
        <strong>{area === 'admin' ? 'b4you · Back-office' : 'b4you · Painel'}</strong>
        <nav aria-label="Principal">
          {nav.map(([to, label]) => (
            <NavLink key={to} to={to} end={to === '/'}>
              {label}
            </NavLink>
          ))}
        </nav>
        <span className="who">{user?.email}</span>
        <button type="button" className="link" onClick={() => void logout()}>
          Sair
        </button>
      </header>
      <main>
        <Suspense fallback={<Loading />}>{children}</Suspense>
      </main>
    </div>
  );
}

function PanelRoutes() {
  return (
    <Shell area="painel">
      <Routes>
        <Route path="/" element={<Inicio />} />
        <Route path="/produtos" element={<Produtos />} />
        <Route path="/produtos/:id" element={<Produto />} />
        <Route path="/cupons" element={<Cupons />} />
        <Route path="/coprodutores" element={<Coprodutores />} />
        <Route path="/afiliados" element={<Afiliados />} />
        <Route path="/vendas" element={<Vendas />} />
        <Route path="/vendas/:id" element={<Venda />} />
        <Route path="/webhooks" element={<Webhooks />} />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Routes>
    </Shell>
  );
}

function AdminRoutes() {
  return (
    <Shell area="admin">
      <Routes>
        <Route path="/" element={<Pedidos />} />
        <Route path="/pedidos/:id" element={<Pedido />} />
        <Route path="/usuarios" element={<Usuarios />} />
        <Route path="/produtos" element={<AdminProdutos />} />
        <Route path="/afiliacoes" element={<Afiliacoes />} />
        <Route path="/jobs" element={<Jobs />} />
        <Route path="/entregas" element={<Entregas />} />
        <Route path="/adquirentes" element={<Adquirentes />} />
        <Route path="/relatorios" element={<Relatorios />} />
        <Route path="/auditoria" element={<Auditoria />} />
        <Route path="/analises" element={<Analises />} />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Routes>
    </Shell>
  );
}

export function App({ area }: { area: 'painel' | 'admin' }) {
  const user = useSession();
  const [ready, setReady] = useState(false);
  useEffect(() => {
    // a reload keeps the session: the refresh cookie brings a new token
    void refreshSession().finally(() => setReady(true));
  }, []);
  if (!ready) return <Loading />;
  return (
    <BrowserRouter basename={'/' + area}>
      {!user ? (
        <Routes>
          {area === 'painel' && <Route path="/cadastro" element={<Signup />} />}
          <Route path="*" element={<Login area={area} notice={sessionEndedReason()} />} />
        </Routes>
      ) : area === 'admin' && user.role !== 'admin' ? (
        <main className="narrow">
          <h1>Acesso restrito</h1>
          <p>Esta área é só para administradores.</p>
          <button type="button" onClick={() => void logout()}>
            Sair
          </button>
        </main>
      ) : area === 'admin' ? (
        <AdminRoutes />
      ) : (
        <PanelRoutes />
      )}
    </BrowserRouter>
  );
}
