// Projects: the list by project group, creating a project, and a project's page with its deployment
// process, variables and releases; a release's page deploys it to an environment after a preview of
// what runs where (GET …/releases/{id}/deployments/preview/{environmentId}, planned by the server).
import { html, useState, useEffect, useApi, useApis, Page, Loaded, useForm, Form, Field, Table, Pager, Tabs, TaskState, when } from '../ui.js';
import { post, put, query, ApiFailure } from '../api.js';
import { ProcessEditor } from './process_editor.js';

const TAKE = 30;

// ---- the list -----------------------------------------------------------------------------------

function ProjectList({ ctx, query: q }) {
  const skip = Number(q.skip || 0);
  const state = useApis([ctx.api('/projectgroups/all'), ctx.api(`/projects${query({ skip, take: TAKE })}`)]);
  const [creating, setCreating] = useState(q.create === '1');
  const ready = !!state.data || !!state.error;
  const actions = ctx.can('ProjectCreate') && !creating
    ? html`<button type="button" class="primary" onClick=${() => setCreating(true)}>Add project</button>` : null;
  return html`<${Page} title="Projects" actions=${actions} ready=${ready}>
    ${creating ? html`<${NewProject} ctx=${ctx} groups=${state.data ? state.data[0] : []} onCancel=${() => setCreating(false)} />` : null}
    <${Loaded} state=${state}>${([groups, page]) => {
      const byGroup = new Map(groups.map((g) => [g.Id, { group: g, projects: [] }]));
      for (const p of page.Items) {
        if (!byGroup.has(p.ProjectGroupId)) byGroup.set(p.ProjectGroupId, { group: { Id: p.ProjectGroupId, Name: p.ProjectGroupId }, projects: [] });
        byGroup.get(p.ProjectGroupId).projects.push(p);
      }
      const shown = [...byGroup.values()].filter((g) => g.projects.length);
      return html`<div>
        ${page.TotalResults === 0 ? html`<p class="empty">No projects yet.</p>` : null}
        ${shown.map(({ group, projects }) => html`<section class="project-group" aria-label=${group.Name}>
          <h2>${group.Name}</h2>
          <div class="cards">${projects.map((p) => html`<div class="card">
            <h3><a href=${ctx.href(`/projects/${p.Id}`)}>${p.Name}</a></h3>
            ${p.Description ? html`<p class="muted">${p.Description}</p>` : null}
            ${p.IsDisabled ? html`<span class="badge off">Disabled</span>` : null}
          </div>`)}</div>
        </section>`)}
        <${Pager} page=${page} skip=${skip} onSkip=${(s) => ctx.navigate(ctx.href(`/projects?skip=${s}`))} />
      </div>`;
    }}</${Loaded}>
  </${Page}>`;
}

function NewProject({ ctx, groups, onCancel }) {
  const lifecycles = useApi(ctx.api('/lifecycles/all'));
  const form = useForm({ Name: '', Description: '', ProjectGroupId: '', LifecycleId: '' },
    [{ name: 'Name', aliases: ['a project named'] }, { name: 'Description' }, { name: 'ProjectGroupId', label: 'Project group' }, { name: 'LifecycleId', label: 'Lifecycle' }]);
  const groupOptions = [{ value: '', label: 'The default group' }, ...(groups || []).map((g) => ({ value: g.Id, label: g.Name }))];
  const lifecycleOptions = [{ value: '', label: 'The default lifecycle' }, ...((lifecycles.data) || []).map((l) => ({ value: l.Id, label: l.Name }))];
  const create = async (v) => {
    const body = { Name: v.Name, Description: v.Description || undefined };
    if (v.ProjectGroupId) body.ProjectGroupId = v.ProjectGroupId;
    if (v.LifecycleId) body.LifecycleId = v.LifecycleId;
    const project = await post(ctx.api('/projects'), body);
    ctx.navigate(ctx.href(`/projects/${project.Id}`));
  };
  return html`<div class="panel"><h2>New project</h2>
    <${Form} form=${form} onSubmit=${create} submitLabel="Create project"
      extra=${html`<button type="button" onClick=${onCancel}>Cancel</button>`}>
      <${Field} form=${form} name="Name" label="Name" required />
      <${Field} form=${form} name="Description" label="Description" />
      <${Field} form=${form} name="ProjectGroupId" label="Project group" type="select" options=${groupOptions} />
      <${Field} form=${form} name="LifecycleId" label="Lifecycle" type="select" options=${lifecycleOptions} />
    </${Form}></div>`;
}

// ---- a project ----------------------------------------------------------------------------------

// Runbooks live on pages of their own (pages/runbooks.js); their tab here is a way there.
const TABS = [{ id: 'process', label: 'Process' }, { id: 'variables', label: 'Variables' }, { id: 'releases', label: 'Releases' }, { id: 'runbooks', label: 'Runbooks' }];

function ProjectPage({ ctx, params, query: q }) {
  const project = useApi(ctx.api(`/projects/${params.id}`));
  const tab = TABS.some((t) => t.id === q.tab) ? q.tab : 'process';
  // The page is ready once the project and the open tab's own data have loaded.
  const [readyTab, setReadyTab] = useState(null);
  const onReady = () => setReadyTab(tab);
  const p = project.data;
  return html`<${Page} title=${p ? p.Name : 'Project'} subtitle=${p ? p.Description : ''} ready=${!!project.error || (!!p && readyTab === tab)}>
    <${Loaded} state=${project}>${(proj) => html`<div>
      <${Tabs} tabs=${TABS} current=${tab} onSelect=${(t) => ctx.navigate(ctx.href(t === 'runbooks' ? `/projects/${proj.Id}/runbooks` : `/projects/${proj.Id}?tab=${t}`))} />
      ${tab === 'process' ? html`<${ProcessTab} ctx=${ctx} project=${proj} onReady=${onReady} />` : null}
      ${tab === 'variables' ? html`<${VariablesEditor} ctx=${ctx} project=${proj} onReady=${onReady} />` : null}
      ${tab === 'releases' ? html`<${Releases} ctx=${ctx} project=${proj} onReady=${onReady} />` : null}
    </div>`}</${Loaded}>
  </${Page}>`;
}

function ProcessTab({ ctx, project, onReady }) {
  return html`<section aria-label="Deployment process"><h2>Deployment process</h2>
    <${ProcessEditor} ctx=${ctx} processUrl=${ctx.api(`/projects/${project.Id}/deploymentprocesses`)} kind="deployment" onReady=${onReady} /></section>`;
}

// ---- variables ----------------------------------------------------------------------------------

const SCOPES = [
  { key: 'Environment', values: 'Environments', label: 'Environments' },
  { key: 'Role', values: 'Roles', label: 'Target roles' },
  { key: 'Machine', values: 'Machines', label: 'Deployment targets' },
  { key: 'Action', values: 'Actions', label: 'Steps' },
  { key: 'Channel', values: 'Channels', label: 'Channels' },
];

function VariablesEditor({ ctx, project, onReady }) {
  const state = useApi(ctx.api(`/projects/${project.Id}/variables`));
  useEffect(() => { if (state.data || state.error) onReady(true); }, [state.data, state.error]);
  return html`<section aria-label="Variables"><h2>Variables</h2>
    <${Loaded} state=${state}>${(set) => html`<${VariableRows} key=${set.Version} ctx=${ctx} project=${project} initial=${set} />`}</${Loaded}></section>`;
}

function VariableRows({ ctx, project, initial }) {
  const [set, setSet] = useState(initial);
  const [rows, setRows] = useState(() => initial.Variables.map((v) => ({ ...v, Scope: { ...(v.Scope || {}) } })));
  const [failure, setFailure] = useState(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const canEdit = ctx.can('VariableEdit');
  const scopeValues = set.ScopeValues || {};
  const update = (i, fields) => { setRows(rows.map((r, j) => (j === i ? { ...r, ...fields } : r))); setSaved(false); };
  const add = () => setRows([...rows, { Name: '', Value: '', Type: 'String', IsSensitive: false, Scope: {}, _new: true }]);
  const remove = (i) => setRows(rows.filter((_, j) => j !== i));
  const save = async () => {
    setBusy(true); setFailure(null); setSaved(false);
    try {
      const Variables = rows.map(({ _new, _changed, ...v }) => {
        const out = { ...v, Type: v.IsSensitive ? 'Sensitive' : (v.Type === 'Sensitive' ? 'String' : (v.Type || 'String')) };
        // Sensitive values are write-only: null keeps the stored secret, a typed value replaces it.
        if (v.IsSensitive && !_changed && !_new) out.Value = null;
        const scope = {};
        for (const [k, vals] of Object.entries(v.Scope || {})) if (vals && vals.length) scope[k] = vals;
        out.Scope = scope;
        return out;
      });
      const result = await put(ctx.api(`/projects/${project.Id}/variables`), { ...set, Variables });
      setSet(result);
      setRows(result.Variables.map((v) => ({ ...v, Scope: { ...(v.Scope || {}) } })));
      setSaved(true);
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      setFailure(e);
    } finally { setBusy(false); }
  };
  const errors = failure ? (failure.errors.length ? failure.errors : [failure.message]) : [];
  const rowErrors = (row) => (row.Name ? errors.filter((e) => e.toLowerCase().includes(`'${row.Name.toLowerCase()}'`)) : []);
  const claimed = new Set(rows.flatMap(rowErrors));
  const rest = errors.filter((e) => !claimed.has(e));
  return html`<div class="variables">
    ${rows.length === 0 ? html`<p class="empty">No variables yet.</p>` : null}
    ${rows.map((row, i) => {
      const errs = rowErrors(row);
      const form = {
        values: { Name: row.Name, Value: row.IsSensitive && !row._changed && !row._new ? '' : (row.Value ?? ''), IsSensitive: !!row.IsSensitive, ...Object.fromEntries(SCOPES.map((s) => [s.key, (row.Scope || {})[s.key] || []])) },
        set: (name, value) => {
          if (name === 'Name') update(i, { Name: value });
          else if (name === 'Value') update(i, { Value: value, _changed: true });
          else if (name === 'IsSensitive') update(i, { IsSensitive: value });
          else update(i, { Scope: { ...(row.Scope || {}), [name]: value } });
        },
        errorsOf: (name) => (name === 'Name' ? errs : []),
      };
      return html`<fieldset class="variable panel" key=${row.Id || `new-${i}`}>
        <legend>Variable ${i + 1}${row.Name ? `: ${row.Name}` : ''}</legend>
        <div class="row">
          <${Field} form=${form} name="Name" label="Name" disabled=${!canEdit} />
          <${Field} form=${form} name="Value" label="Value" type=${row.IsSensitive ? 'password' : 'text'} disabled=${!canEdit}
            placeholder=${row.IsSensitive && !row._new ? 'Set (write-only): type to replace' : ''} autocomplete="off" />
          <${Field} form=${form} name="IsSensitive" label="Sensitive" type="checkbox" disabled=${!canEdit} />
        </div>
        <div class="row variable-scopes">
          ${SCOPES.map((s) => html`<${Field} form=${form} name=${s.key} label=${`Scope: ${s.label}`} type="multiselect" disabled=${!canEdit}
            options=${(scopeValues[s.values] || []).map((o) => ({ value: o.Id, label: o.Name }))} />`)}
        </div>
        ${canEdit ? html`<div><button type="button" class="danger" onClick=${() => remove(i)}>Remove variable ${i + 1}</button></div>` : null}
      </fieldset>`;
    })}
    ${canEdit ? html`<div class="form-actions">
      <button type="button" onClick=${add}>Add variable</button>
      <button type="button" class="primary" disabled=${busy} onClick=${save}>${busy ? 'Saving…' : 'Save variables'}</button>
      ${saved ? html`<span class="badge ok" role="status">Saved</span>` : null}
      ${rest.length ? html`<div class="form-error" role="alert">${rest.map((e) => html`<div>${e}</div>`)}</div>` : null}
    </div>` : null}
  </div>`;
}

// ---- releases -----------------------------------------------------------------------------------

function nextVersion(latest) {
  if (!latest) return '0.0.1';
  const m = /^(.*?)(\d+)$/.exec(latest);
  return m ? `${m[1]}${Number(m[2]) + 1}` : `${latest}.1`;
}

function Releases({ ctx, project, onReady }) {
  const [skip, setSkip] = useState(0);
  const releases = useApi(ctx.api(`/projects/${project.Id}/releases${query({ skip, take: TAKE })}`));
  useEffect(() => { if (releases.data || releases.error) onReady(true); }, [releases.data, releases.error]);
  const latest = releases.data && releases.data.Items[0] ? releases.data.Items[0].Version : null;
  return html`<section aria-label="Releases">
    ${ctx.can('ReleaseCreate') && releases.data ? html`<${NewRelease} key=${latest || 'none'} ctx=${ctx} project=${project} suggested=${nextVersion(latest)} />` : null}
    <h2>Releases</h2>
    <${Loaded} state=${releases}>${(page) => html`<div>
      <${Table} rows=${page.Items} empty="No releases yet." columns=${[
        { label: 'Version', render: (r) => html`<a href=${ctx.href(`/projects/${project.Id}/releases/${r.Id}`)}>${r.Version}</a>` },
        { label: 'Created', render: (r) => when(r.Assembled) },
        { label: 'Notes', render: (r) => r.ReleaseNotes || '' },
      ]} />
      <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />
    </div>`}</${Loaded}>
  </section>`;
}

function NewRelease({ ctx, project, suggested }) {
  const form = useForm({ Version: suggested, ReleaseNotes: '' }, [{ name: 'Version', aliases: ['a release', 'release version'] }, { name: 'ReleaseNotes', label: 'Release notes' }]);
  const create = async (v) => {
    const release = await post(ctx.api('/releases'), { ProjectId: project.Id, Version: v.Version, ReleaseNotes: v.ReleaseNotes || undefined });
    ctx.navigate(ctx.href(`/projects/${project.Id}/releases/${release.Id}`));
  };
  return html`<div class="panel"><h2>Create a release</h2>
    <${Form} form=${form} onSubmit=${create} submitLabel="Create release">
      <${Field} form=${form} name="Version" label="Version" required help="The release freezes the process and variables as they are now." />
      <${Field} form=${form} name="ReleaseNotes" label="Release notes" type="textarea" rows=${3} />
    </${Form}></div>`;
}

// ---- a release: deploy with a preview -------------------------------------------------------------

function ReleasePage({ ctx, params }) {
  const state = useApis([
    ctx.api(`/projects/${params.id}`),
    ctx.api(`/releases/${params.releaseId}`),
    ctx.api(`/releases/${params.releaseId}/deployments/template`),
    ctx.api(`/releases/${params.releaseId}/deployments?take=${TAKE}`),
    ctx.api('/environments/all'),
  ]);
  const ready = !!state.data || !!state.error;
  const [project, release] = state.data || [];
  return html`<${Page} title=${release ? `Release ${release.Version}` : 'Release'} subtitle=${project ? project.Name : ''} ready=${ready}
    actions=${project ? html`<a class="button" href=${ctx.href(`/projects/${project.Id}?tab=releases`)}>All releases</a>` : null}>
    <${Loaded} state=${state}>${([proj, rel, template, deployments, environments]) => {
      const envName = Object.fromEntries(environments.map((e) => [e.Id, e.Name]));
      return html`<div>
        ${rel.ReleaseNotes ? html`<p>${rel.ReleaseNotes}</p>` : null}
        ${ctx.can('DeploymentCreate') ? html`<${Deploy} ctx=${ctx} release=${rel} template=${template} />` : null}
        <h2>Deployments of this release</h2>
        <${Deployments} ctx=${ctx} page=${deployments} envName=${envName} />
      </div>`;
    }}</${Loaded}>
  </${Page}>`;
}

// The release's deployments with their tasks' states (one request for the page's tasks).
function Deployments({ ctx, page, envName }) {
  const ids = page.Items.map((d) => d.TaskId).filter(Boolean);
  const tasks = useApi(ids.length ? ctx.api(`/tasks${query({ ids: ids.join(','), take: ids.length })}`) : null);
  const stateOf = Object.fromEntries(((tasks.data && tasks.data.Items) || []).map((t) => [t.Id, t]));
  return html`<${Table} rows=${page.Items} empty="Not deployed yet." columns=${[
    { label: 'Environment', render: (d) => envName[d.EnvironmentId] || d.EnvironmentId },
    { label: 'Task', render: (d) => (d.TaskId ? html`<a href=${ctx.href(`/tasks/${d.TaskId}`)}>${d.Name || d.TaskId}</a>` : d.Name) },
    { label: 'State', render: (d) => (stateOf[d.TaskId] ? html`<${TaskState} state=${stateOf[d.TaskId].State} pending=${stateOf[d.TaskId].HasPendingInterruptions} />` : '') },
    { label: 'Deployed by', render: (d) => d.DeployedBy },
    { label: 'Created', render: (d) => when(d.Created) },
  ]} />`;
}

// Prompted variables come with the preview (its Form, per environment): one field each, keyed by the
// variable's name as FormValues is; a default is shown until the user types, a sensitive one never.
function Deploy({ ctx, release, template }) {
  const targets = template.PromoteTo || [];
  const env0 = targets.length ? targets[0].Id : '';
  const [envId, setEnvId] = useState(env0);
  const previewState = useApi(envId ? ctx.api(`/releases/${release.Id}/deployments/preview/${envId}`) : null);
  const promptForm = (previewState.data && previewState.data.Form) || { Elements: [], Values: {} };
  const prompts = promptForm.Elements || [];
  const key = (name) => `prompt:${name}`;
  const form = useForm({ EnvironmentId: env0, Comments: '' }, [
    { name: 'EnvironmentId', label: 'Environment' }, { name: 'Comments' },
    ...prompts.map((e) => ({ name: key(e.Name), aliases: [e.Name], label: e.Control.Label })),
  ]);
  useEffect(() => { setEnvId(form.values.EnvironmentId); }, [form.values.EnvironmentId]);
  if (!targets.length) return html`<div class="panel"><h2>Deploy</h2><p class="notice">The lifecycle allows no environment for this release now.</p></div>`;
  const valueOf = (e) => (form.values[key(e.Name)] !== undefined ? form.values[key(e.Name)] : ((promptForm.Values || {})[e.Name] || ''));
  const deploy = async (v) => {
    const formValues = {};
    for (const e of prompts) { const value = valueOf(e); if (String(value).trim()) formValues[e.Name] = String(value); }
    const deployment = await post(ctx.api('/deployments'), { ReleaseId: release.Id, EnvironmentId: v.EnvironmentId, Comments: v.Comments || undefined, FormValues: formValues });
    ctx.navigate(ctx.href(`/tasks/${deployment.TaskId}`));
  };
  return html`<div class="panel deploy"><h2>Deploy release ${release.Version}</h2>
    <${Form} form=${form} onSubmit=${deploy} submitLabel="Deploy">
      <${Field} form=${form} name="EnvironmentId" label="Environment" type="select" options=${targets.map((e) => ({ value: e.Id, label: e.Name }))} />
      <section class="preview" aria-label="Preview" aria-live="polite">
        <h3>What runs where</h3>
        <${Loaded} state=${previewState}>${(p) => html`<${Preview} preview=${p} />`}</${Loaded}>
      </section>
      ${prompts.length ? html`<h3>Prompted variables</h3>` : null}
      ${prompts.map((e) => html`<${Field} form=${form} name=${key(e.Name)} label=${e.Control.Label}
        help=${e.Control.Description || (e.Control.IsSensitive ? 'Sensitive: leave it empty to use the stored value.' : undefined)}
        required=${e.Control.Required} type=${e.Control.IsSensitive ? 'password' : 'text'}
        value=${valueOf(e)} onInput=${(value) => form.set(key(e.Name), value)} />`)}
      <${Field} form=${form} name="Comments" label="Comments" />
    </${Form}></div>`;
}

function Preview({ preview }) {
  const steps = preview.StepsToExecute || [];
  return html`<div>
    ${(preview.Problems || []).length ? html`<div class="notice" role="status"><strong>This deployment would fail now:</strong>
      <ul>${preview.Problems.map((p) => html`<li>${p}</li>`)}</ul></div>` : null}
    <${Table} caption="Steps" rows=${steps} rowKey=${(s) => s.ActionId} empty="The process has no steps." columns=${[
      { label: 'Step', render: (s) => `${s.ActionNumber}. ${s.ActionName}` },
      { label: 'Runs on', render: (s) => (s.IsSkipped ? html`<span class="muted">Skipped: ${s.SkipReason}</span>` : html`<ul class="plain">${(s.Placements || []).map((pl) => html`<li>${pl.Label}</li>`)}</ul>`) },
      { label: 'Problems', render: (s) => (s.Problems || []).join('; ') },
    ]} />
  </div>`;
}

export const routes = [
  { path: '/:space/projects', view: ProjectList },
  { path: '/:space/projects/:id', view: ProjectPage },
  { path: '/:space/projects/:id/releases/:releaseId', view: ReleasePage },
];
export const nav = [{ label: 'Projects', path: '/:space/projects', order: 20 }];
