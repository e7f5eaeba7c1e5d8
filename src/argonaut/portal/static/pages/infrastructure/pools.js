// Worker pools with a health summary per pool (counted by the API's /workerpools/summary), a form to
// add one, and a pool's page with its workers.
import { html, useState, useApi, Loaded, Table, Pager, useForm, Form, Field, ActionButton } from '../../ui.js';
import { post, del, query } from '../../api.js';
import { InfraPage, base, HealthCounts, nameField } from './common.js';
import { MachineTable } from './lists.js';

function NewPool({ ctx, onDone }) {
  const form = useForm({ Name: '', Description: '' }, [nameField('worker pool'), { name: 'Description' }]);
  const create = async (v) => {
    const pool = await post(ctx.api('/workerpools'), v);
    form.setValues({ Name: '', Description: '' });
    onDone(pool);
  };
  return html`<div class="panel infra-add"><h2>Add a worker pool</h2>
    <${Form} form=${form} onSubmit=${create} submitLabel="Add pool">
      <${Field} form=${form} name="Name" label="Pool name" required />
      <${Field} form=${form} name="Description" label="Description" />
    </${Form}></div>`;
}

export function Pools({ ctx }) {
  const [skip, setSkip] = useState(0);
  const state = useApi(ctx.api(`/workerpools/summary${query({ skip, take: 30 })}`));
  const columns = [
    { label: 'Pool', render: (s) => html`<a href=${base(ctx, `/workerpools/${s.WorkerPool.Id}`)}>${s.WorkerPool.Name}</a>${s.WorkerPool.IsDefault ? html` <span class="badge run">Default</span>` : null}` },
    { label: 'Workers', render: (s) => s.TotalMachines },
    { label: 'Health', render: (s) => html`<${HealthCounts} summary=${s} />` },
  ];
  const pager = state.data ? { TotalResults: state.data.TotalPools, ItemsPerPage: 30, Items: state.data.WorkerPoolSummaries } : null;
  return html`<${InfraPage} ctx=${ctx} here="/workerpools" title="Worker pools" ready=${!state.loading}>
    <${Loaded} state=${state}>${(summary) => html`
      <${Table} caption="Pools and the health of their workers" columns=${columns} rows=${summary.WorkerPoolSummaries}
        rowKey=${(s) => s.WorkerPool.Id} empty="No worker pools yet." />
      <${Pager} page=${pager} skip=${skip} onSkip=${setSkip} />`}
    </${Loaded}>
    ${ctx.can('WorkerEdit') ? html`<${NewPool} ctx=${ctx} onDone=${() => state.reload()} />` : null}
  </${InfraPage}>`;
}

export function Pool({ ctx, params }) {
  const state = useApi(ctx.api(`/workerpools/${params.id}`));
  const [ready, setReady] = useState(false);
  const pool = state.data;
  const actions = pool && ctx.can('WorkerEdit') ? html`
    <a class="button primary" href=${base(ctx, `/workers/new?pool=${pool.Id}`)}>Add worker</a>
    ${pool.IsDefault ? null : html`<${ActionButton} label="Delete pool" className="danger" confirmText=${`Delete the worker pool ${pool.Name}?`}
      action=${() => del(ctx.api(`/workerpools/${pool.Id}`))} onDone=${() => ctx.navigate(base(ctx, '/workerpools'))} />`}` : null;
  const names = pool ? { [pool.Id]: pool.Name } : {};
  return html`<${InfraPage} ctx=${ctx} here="/workerpools" title=${pool ? pool.Name : 'Worker pool'} subtitle=${pool ? pool.Description : ''}
    actions=${actions} ready=${!state.loading && (ready || !!state.error)}>
    <${Loaded} state=${state}>${() => html`
      <h2>Workers</h2>
      <${MachineTable} ctx=${ctx} kind="worker" path=${ctx.api(`/workerpools/${params.id}/workers`)} names=${names} onReady=${() => setReady(true)} />`}
    </${Loaded}>
  </${InfraPage}>`;
}
