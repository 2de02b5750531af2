import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
// first: the language (and <html lang dir>) is set before anything renders
import './i18n';
import { App } from './App';
import { exposeDebug } from './lib/runtime';
import './styles.css';

exposeDebug(window);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
