// The space's start page: the latest deployment of each project to each environment, from one request
// (GET /api/{space}/dashboard), grouped by project group. Refreshes itself while anything is running.
import { html, useState, useEffect, useApi, Page, Loaded, TaskState, ago } from '../ui.js';

const RUNNING = new Set(['Queued', 'Executing', 'Cancelling']);

function Cell({ ctx, item }) {
  if (!item) return html`<span class="muted" aria-label="Not deployed">–</span>`;
  return html`<a class="dash-cell" href=${item.TaskId ? ctx.href(`/tasks/${item.TaskId}`) : ctx.href(`/projects/${item.ProjectId}/releases/${item.ReleaseId}`)}>
    <strong>${item.ReleaseVersion}</strong>
    <${TaskState} state=${item.State} pending=${item.HasPendingInterruptions} />
    <small class="muted">${item.CompletedTime ? ago(item.CompletedTime) : (item.StartTime ? `started ${ago(item.StartTime)}` : `queued ${ago(item.QueueTime)}`)}</small>
  </a>`;
}

function Dashboard({ ctx }) {
  const space = ctx.spaces.find((s) => s.Id === ctx.space);
  // Poll only while a deployment is unfinished, so an idle dashboard costs one request.
  const [busy, setBusy] = useState(false);
  const state = useApi(ctx.api('/dashboard'), { every: busy ? 3000 : undefined });
  const first = state;
  useEffect(() => { if (state.data) setBusy(state.data.Items.some((i) => RUNNING.has(i.State))); }, [state.data]);
  return html`<${Page} title="Dashboard" subtitle=${space ? space.Name : ''} ready=${!!first.data || !!first.error}
    actions=${ctx.can('ProjectCreate') ? html`<a class="button" href=${ctx.href('/projects?create=1')}>Add project</a>` : null}>
    <${Loaded} state=${state}>${(d) => {
      if (!d.Projects.length) return html`<p class="empty">No projects yet. <a href=${ctx.href('/projects?create=1')}>Create the first one</a>.</p>`;
      const items = new Map(d.Items.map((i) => [`${i.ProjectId}/${i.EnvironmentId}`, i]));
      const groups = d.ProjectGroups.map((g) => ({ group: g, projects: d.Projects.filter((p) => p.ProjectGroupId === g.Id) })).filter((g) => g.projects.length);
      return html`<div class="dashboard">${groups.map(({ group, projects }) => html`<table class="grid dashboard-grid">
        <caption>${group.Name}</caption>
        <thead><tr><th scope="col">Project</th>${d.Environments.map((e) => html`<th scope="col">${e.Name}</th>`)}</tr></thead>
        <tbody>${projects.map((p) => html`<tr key=${p.Id}>
          <th scope="row"><a href=${ctx.href(`/projects/${p.Id}`)}>${p.Name}</a></th>
          ${d.Environments.map((e) => html`<td><${Cell} ctx=${ctx} item=${items.get(`${p.Id}/${e.Id}`)} /></td>`)}
        </tr>`)}</tbody>
      </table>`)}</div>`;
    }}</${Loaded}>
  </${Page}>`;
}

export const routes = [{ path: '/:space/dashboard', view: Dashboard }];
export const nav = [{ label: 'Dashboard', path: '/:space/dashboard', order: 10 }];
