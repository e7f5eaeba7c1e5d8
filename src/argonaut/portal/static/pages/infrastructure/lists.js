// Lists of machines and environments, one page at a time, with the filters the API takes.
import { html, useState, useEffect, useApi, useApis, Loaded, Table, Pager, Health, Field, useForm, Form, ActionButton } from '../../ui.js';
import { query, post, put, del } from '../../api.js';
import { InfraPage, base, KINDS, styleText, HEALTH_ORDER, HEALTH_WORDS, nameField } from './common.js';

const TAKE = 30;

// A page of workers or targets from `path` (any of the API's machine lists), filterable by name/health.
export function MachineTable({ ctx, kind, path, names = {}, onReady }) {
  const k = KINDS[kind];
  const [skip, setSkip] = useState(0);
  const [partialName, setPartialName] = useState('');
  const [health, setHealth] = useState('');
  const state = useApi(`${path}${query({ skip, take: TAKE, partialName, healthStatuses: health })}`);
  useEffect(() => { if (!state.loading && onReady) onReady(); }, [state.loading]);
  const columns = [
    { label: 'Name', render: (m) => html`<a href=${base(ctx, `${k.path}/${m.Id}`)}>${m.Name}</a>` },
    { label: 'Health', render: (m) => html`<${Health} status=${m.HealthStatus} disabled=${m.IsDisabled} />` },
    { label: 'Status', render: (m) => html`<span class="muted">${m.StatusSummary || ''}</span>` },
    { label: 'Kind', render: (m) => styleText(m.Endpoint && m.Endpoint.CommunicationStyle) },
    kind === 'worker'
      ? { label: 'Pools', render: (m) => (m.WorkerPoolIds || []).map((p) => names[p] || p).join(', ') }
      : { label: 'Environments and roles', render: (m) => [...(m.EnvironmentIds || []).map((e) => names[e] || e), ...(m.Roles || [])].join(', ') },
  ];
  return html`<div>
    <div class="filters">
      <${Field} name="partialName" label="Name contains" value=${partialName} onInput=${(v) => { setPartialName(v); setSkip(0); }} />
      <${Field} name="health" label="Health" type="select" value=${health} onInput=${(v) => { setHealth(v); setSkip(0); }}
        options=${[{ value: '', label: 'Any' }, ...HEALTH_ORDER.map((h) => ({ value: h, label: HEALTH_WORDS[h] || h }))]} />
    </div>
    <${Loaded} state=${state}>${(page) => html`
      <${Table} columns=${columns} rows=${page.Items} empty=${`No ${k.plural.toLowerCase()} here.`} />
      <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />`}
    </${Loaded}>
  </div>`;
}

// Names of pools or environments, for showing ids as names in machine lists.
export function useNames(ctx, collection) {
  const state = useApi(ctx.api(`/${collection}/all`));
  const names = {};
  for (const item of state.data || []) names[item.Id] = item.Name;
  return { names, loaded: state.data !== undefined || !!state.error };
}

export function MachineList({ ctx, kind }) {
  const k = KINDS[kind];
  const { names, loaded } = useNames(ctx, kind === 'worker' ? 'workerpools' : 'environments');
  const [ready, setReady] = useState(false);
  const actions = ctx.can(k.create) ? html`<a class="button primary" href=${base(ctx, `${k.path}/new`)}>Add ${k.noun}</a>` : null;
  return html`<${InfraPage} ctx=${ctx} here=${k.here} title=${k.plural} actions=${actions} ready=${ready && loaded}>
    <${MachineTable} ctx=${ctx} kind=${kind} path=${ctx.api(k.api)} names=${names}
      onReady=${() => setReady(true)} />
  </${InfraPage}>`;
}

export function Environments({ ctx }) {
  const [skip, setSkip] = useState(0);
  const state = useApi(ctx.api(`/environments${query({ skip, take: TAKE })}`));
  const columns = [
    { label: 'Name', render: (e) => html`<a href=${base(ctx, `/environments/${e.Id}`)}>${e.Name}</a>` },
    { label: 'Description', render: (e) => e.Description || '' },
    { label: 'Guided failure', render: (e) => (e.UseGuidedFailure ? 'Yes' : 'No') },
  ];
  return html`<${InfraPage} ctx=${ctx} here="/environments" title="Environments" ready=${!state.loading}>
    <${Loaded} state=${state}>${(page) => html`
      <${Table} columns=${columns} rows=${page.Items} empty="No environments yet." />
      <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />`}
    </${Loaded}>
    ${ctx.can('EnvironmentCreate') ? html`<${EnvironmentForm} ctx=${ctx} onDone=${() => state.reload()} />` : null}
  </${InfraPage}>`;
}

// Adds an environment, or (given one) edits its name, description and guided-failure default.
function EnvironmentForm({ ctx, environment, onDone }) {
  const blank = { Name: '', Description: '', UseGuidedFailure: false };
  const form = useForm(environment ? { Name: environment.Name, Description: environment.Description || '', UseGuidedFailure: !!environment.UseGuidedFailure } : blank,
    [nameField('environment'), { name: 'Description' }, { name: 'UseGuidedFailure', label: 'Use guided failure' }]);
  const save = async (v) => {
    const saved = environment ? await put(ctx.api(`/environments/${environment.Id}`), { ...environment, ...v }) : await post(ctx.api('/environments'), v);
    if (!environment) form.setValues(blank);
    onDone(saved);
  };
  return html`<div class="panel infra-add"><h2>${environment ? 'Settings' : 'Add an environment'}</h2>
    <${Form} form=${form} onSubmit=${save} submitLabel=${environment ? 'Save environment' : 'Add environment'}>
      <${Field} form=${form} name="Name" label="Environment name" required />
      <${Field} form=${form} name="Description" label="Description" />
      <${Field} form=${form} name="UseGuidedFailure" label="Use guided failure" type="checkbox"
        help="Deployments to this environment ask a person what to do when a step fails." />
    </${Form}></div>`;
}

export function Environment({ ctx, params }) {
  const state = useApis([ctx.api(`/environments/${params.id}`), ctx.api('/environments/all')]);
  const [ready, setReady] = useState(false);
  const env = state.data ? state.data[0] : null;
  const names = {};
  for (const e of (state.data ? state.data[1] : [])) names[e.Id] = e.Name;
  const actions = ctx.can('MachineCreate') ? html`<a class="button primary" href=${base(ctx, `/targets/new?environment=${params.id}`)}>Add deployment target</a>` : null;
  return html`<${InfraPage} ctx=${ctx} here="/environments" title=${env ? env.Name : 'Environment'} subtitle=${env ? env.Description : ''}
    actions=${actions} ready=${!state.loading && (ready || !!state.error)}>
    <${Loaded} state=${state}>${() => html`
      <h2>Deployment targets</h2>
      <${MachineTable} ctx=${ctx} kind="target" path=${ctx.api(`/environments/${params.id}/machines`)} names=${names}
        onReady=${() => setReady(true)} />
      ${ctx.can('EnvironmentEdit') ? html`<${EnvironmentForm} key=${env.Id} ctx=${ctx} environment=${env} onDone=${() => state.reload()} />` : null}
      ${ctx.can('EnvironmentDelete') ? html`<p><${ActionButton} label="Delete environment" className="danger"
        confirmText=${`Delete the environment ${env.Name}?`} action=${() => del(ctx.api(`/environments/${env.Id}`))}
        onDone=${() => ctx.navigate(base(ctx, '/environments'))} /></p>` : null}`}
    </${Loaded}>
  </${InfraPage}>`;
}
