// main.tsx - one app, two areas: /painel/ for members, /admin/ for
// admins.  The first path segment picks the area and the router's base.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles.css';

const area = window.location.pathname.startsWith('/admin') ? 'admin' : 'painel';
document.title = area === 'admin' ? 'b4you · Back-office' : 'b4you · Painel do produtor';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App area={area} />
  </StrictMode>,
);
