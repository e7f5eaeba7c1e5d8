// The portal's shell: login, the space switcher, navigation, and a router from /app/... paths to the
// pages each section module exports. Sections are independent modules with the same two exports:
//   routes: [{ path: '/:space/tasks/:id', view: Component, title }]  (':space' is a space's id)
//   nav:    [{ label, path: '/:space/tasks', order, system? , needs? }]  (needs: a permission name)
// A view gets { ctx, params, query }; ctx knows the space, the user and what they may do.
import { html, render, useState, useEffect, useRef } from './vendor/htm-preact-3.1.1.js';
import { get, post, whenUnauthorized, ApiFailure } from './api.js';
import { useForm, Form, Field, Failure, Loading } from './ui.js';
import * as dashboard from './pages/dashboard.js';
import * as infrastructure from './pages/infrastructure.js';
import * as projects from './pages/projects.js';
import * as runbooks from './pages/runbooks.js';
import * as tasks from './pages/tasks.js';
import * as people from './pages/people.js';

const SECTIONS = [dashboard, runbooks, projects, infrastructure, tasks, people];
const ROUTES = SECTIONS.flatMap((s) => s.routes || []).map((r) => ({ ...r, match: compile(r.path) }));
const NAV = SECTIONS.flatMap((s) => s.nav || []).sort((a, b) => (a.order || 0) - (b.order || 0));

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/\/:([A-Za-z]+)/g, (_, name) => { names.push(name); return '/([^/]+)'; });
  const re = new RegExp(`^${source}/?$`);
  return (path) => {
    const m = re.exec(path);
    if (!m) return null;
    const params = {};
    names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
    return params;
  };
}

function location() {
  const path = window.location.pathname.replace(/^\/app/, '') || '/';
  const query = Object.fromEntries(new URLSearchParams(window.location.search));
  return { path, query };
}

export function navigate(to, { replace = false } = {}) {
  const url = to.startsWith('/app') ? to : `/app${to}`;
  if (replace) window.history.replaceState(null, '', url); else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event('argonaut:navigate'));
  window.scrollTo(0, 0);
}

// Links inside the portal change the view without reloading the page.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (!href.startsWith('/app') || href.startsWith('/app/static')) return;
  e.preventDefault();
  navigate(href);
});
window.addEventListener('popstate', () => window.dispatchEvent(new Event('argonaut:navigate')));

function Login({ onLogin }) {
  const form = useForm({ Username: '', Password: '' }, [{ name: 'Username', label: 'User name' }, { name: 'Password' }]);
  return html`<main class="login" id="main">
    <h1>Argonaut</h1>
    <p>Sign in to deploy, run runbooks and look after your workers.</p>
    <${Form} form=${form} submitLabel="Sign in" onSubmit=${async (v) => { await post('/api/users/login', v); onLogin(); }}>
      <${Field} form=${form} name="Username" label="User name" autocomplete="username" required />
      <${Field} form=${form} name="Password" label="Password" type="password" autocomplete="current-password" required />
    </${Form}>
  </main>`;
}

// What the signed-in user may do: SystemPermissions, or a space permission held in this space.
function permissionsOf(set) {
  return (permission, spaceId) => {
    if (!set) return false;
    if ((set.SystemPermissions || []).includes(permission)) return true;
    const held = (set.SpacePermissions || {})[permission] || [];
    return held.some((h) => !spaceId || h.SpaceId === spaceId || h.SpaceId === null);
  };
}

function SpaceSwitcher({ ctx }) {
  if (!ctx.spaces.length) return null;
  const change = (e) => {
    const here = location().path.split('/').slice(2).join('/');
    const keep = here && !/\d/.test(here.split('/')[1] || '') ? here.split('/')[0] : 'dashboard';
    navigate(`/${e.target.value}/${keep || 'dashboard'}`);
  };
  return html`<label class="space-switcher"><span class="visually-hidden">Space</span>
    <select aria-label="Space" value=${ctx.space || ''} onChange=${change}>
      ${ctx.spaces.map((s) => html`<option value=${s.Id}>${s.Name}</option>`)}
    </select></label>`;
}

function Shell({ session, onLogout }) {
  const [where, setWhere] = useState(location());
  useEffect(() => {
    const update = () => setWhere(location());
    window.addEventListener('argonaut:navigate', update);
    return () => window.removeEventListener('argonaut:navigate', update);
  }, []);
  const { me, spaces, permissions } = session;
  const first = where.path.split('/')[1];
  const fallback = (spaces.find((s) => s.IsDefault) || spaces[0] || {}).Id;
  const space = spaces.some((s) => s.Id === first) ? first : fallback;
  useEffect(() => {
    if (where.path === '/' || where.path === '') {
      if (space) navigate(`/${space}/dashboard`, { replace: true });
      else navigate('/profile', { replace: true });
    }
  }, [where.path, space]);
  // After an in-app navigation, keyboard and screen-reader users start at the new page's content
  // (a full page load starts at the top, with the skip link).
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) { firstRender.current = false; return; }
    const main = document.getElementById('main');
    if (main) main.focus({ preventScroll: true });
  }, [where.path]);
  const can = permissionsOf(permissions);
  const ctx = {
    me, spaces, space, navigate,
    can: (permission) => can(permission, space),
    canSystem: (permission) => (permissions.SystemPermissions || []).includes(permission),
    href: (path) => `/app/${space}${path}`,
    api: (path) => `/api/${space}${path}`,
  };
  let view = null;
  for (const route of ROUTES) {
    const params = route.match(where.path);
    if (params) {
      if (params.space && !spaces.some((s) => s.Id === params.space)) {
        view = html`<section class="page" data-ready="true"><h1>Not found</h1><p>There is no space '${params.space}' that you can see.</p></section>`;
      } else {
        view = html`<${route.view} key=${where.path} ctx=${ctx} params=${params} query=${where.query} />`;
      }
      break;
    }
  }
  if (!view && where.path !== '/') {
    view = html`<section class="page" data-ready="true"><h1>Not found</h1><p>No page at ${where.path}.</p></section>`;
  }
  const navItems = NAV.filter((n) => (!n.needs || (n.system ? ctx.canSystem(n.needs) : ctx.can(n.needs))) && (n.system || space));
  const active = (n) => where.path.startsWith(n.path.replace(':space', space).replace(/\/$/, ''));
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href=${space ? `/app/${space}/dashboard` : '/app'}>Argonaut</a>
      <${SpaceSwitcher} ctx=${ctx} />
      <nav aria-label="Sections"><ul>
        ${navItems.map((n) => html`<li><a href=${'/app' + n.path.replace(':space', space)} aria-current=${active(n) ? 'page' : undefined}>${n.label}</a></li>`)}
      </ul></nav>
      <div class="who">
        <a href="/app/profile" title="Your profile and API keys">${me.DisplayName || me.Username}</a>
        <button type="button" class="link" onClick=${onLogout}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">${view}</main>
  </div>`;
}

// Three reads side by side. A user who holds nothing yet may not list spaces (403): they see no space
// and can still reach their profile.
async function loadSession() {
  const [me, spaces, permissions] = await Promise.all([
    get('/api/users/me'),
    get('/api/spaces/all').catch((e) => (e instanceof ApiFailure && e.status === 403 ? [] : Promise.reject(e))),
    get('/api/users/me/permissions'),
  ]);
  return { me, spaces, permissions };
}

function Root() {
  const [session, setSession] = useState(undefined);
  const [error, setError] = useState(null);
  const start = () => loadSession().then(setSession).catch((e) => {
    if (e instanceof ApiFailure && e.status === 401) setSession(null); else setError(e);
  });
  useEffect(() => { whenUnauthorized(() => setSession(null)); start(); }, []);
  if (error) return html`<main class="login"><${Failure} error=${error} /></main>`;
  if (session === undefined) return html`<${Loading} />`;
  if (session === null) return html`<${Login} onLogin=${start} />`;
  const logout = async () => { try { await post('/api/users/logout'); } finally { setSession(null); navigate('/', { replace: true }); } };
  return html`<${Shell} session=${session} onLogout=${logout} />`;
}

render(html`<${Root} />`, document.getElementById('root'));
