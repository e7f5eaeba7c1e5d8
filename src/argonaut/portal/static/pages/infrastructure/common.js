// Pieces the infrastructure pages share: the section's own navigation, the two kinds of machine
// (workers and deployment targets, which the API serves at /workers and /machines), and small labels.
import { html, Page } from '../../ui.js';

const LINKS = [
  { label: 'Overview', path: '' },
  { label: 'Environments', path: '/environments', needs: 'EnvironmentView' },
  { label: 'Deployment targets', path: '/targets', needs: 'MachineView' },
  { label: 'Worker pools', path: '/workerpools', needs: 'WorkerView' },
  { label: 'Workers', path: '/workers', needs: 'WorkerView' },
  { label: 'Machine policies', path: '/machinepolicies', needs: 'MachinePolicyView' },
  { label: 'Accounts', path: '/accounts', needs: 'AccountView' },
];

export const base = (ctx, path = '') => ctx.href(`/infrastructure${path}`);

// A page of the section: the shared Page with the section's links above its content.
export function InfraPage({ ctx, here, children, ...page }) {
  return html`<${Page} ...${page}>
    <nav class="infra-nav" aria-label="Infrastructure">
      ${LINKS.filter((l) => !l.needs || ctx.can(l.needs)).map((l) => html`<a href=${base(ctx, l.path)} aria-current=${l.path === here ? 'page' : undefined}>${l.label}</a>`)}
    </nav>
    ${children}
  </${Page}>`;
}

// Workers and deployment targets: the same pages, different API collections and permissions.
export const KINDS = {
  worker: {
    noun: 'worker', Noun: 'Worker', plural: 'Workers', api: '/workers', path: '/workers', here: '/workers',
    view: 'WorkerView', edit: 'WorkerEdit', create: 'WorkerEdit', remove: 'WorkerEdit',
  },
  target: {
    noun: 'deployment target', Noun: 'Deployment target', plural: 'Deployment targets', api: '/machines', path: '/targets', here: '/targets',
    view: 'MachineView', edit: 'MachineEdit', create: 'MachineCreate', remove: 'MachineDelete',
  },
};

const STYLE_TEXT = { TentaclePassive: 'Listening agent', TentacleActive: 'Polling agent', Ssh: 'SSH', None: 'Cloud region' };
export const styleText = (s) => STYLE_TEXT[s] || s || 'Unknown';

export const HEALTH_ORDER = ['Healthy', 'HasWarnings', 'Unhealthy', 'Unavailable', 'Unknown'];
export const HEALTH_WORDS = { HasWarnings: 'Has warnings' };

// The server's "A worker pool named 'x' already exists" belongs beside the Name field.
export const nameField = (noun) => ({ name: 'Name', aliases: [`A ${noun} named`] });

// Counts of a health summary as badges: Healthy 2, Unavailable 1, Disabled 1.
export function HealthCounts({ summary }) {
  const by = summary.MachineHealthStatusSummaries || {};
  const parts = HEALTH_ORDER.filter((h) => by[h]).map((h) => ({ h, n: by[h] }));
  if (summary.TotalDisabledMachines) parts.push({ h: 'Disabled', n: summary.TotalDisabledMachines });
  if (!parts.length) return html`<span class="muted">No workers</span>`;
  const cls = { Healthy: 'ok', HasWarnings: 'warn', Unhealthy: 'bad' };
  return html`<ul class="health-counts">${parts.map((p) => html`<li><span class=${`badge ${cls[p.h] || 'off'}`}>${HEALTH_WORDS[p.h] || p.h} ${p.n}</span></li>`)}</ul>`;
}
