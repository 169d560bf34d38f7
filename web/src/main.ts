// Entry point: mounts the page for the current path into <main id="app">.
import './styles.css';
import { dashboardPage } from './pages/dashboard/index.js';
import { directoryPage } from './pages/directory.js';
import { notFoundPage } from './pages/not-found.js';
import { watchPage } from './pages/watch.js';
import { Router } from './router.js';

const root = document.getElementById('app')!;
new Router(root, notFoundPage)
  .add('/', directoryPage)
  .add('/watch/:id', watchPage)
  .add('/dashboard', dashboardPage)
  .start();
