// One worker's or deployment target's page: health, what the last check found, agent and runner
// versions, connection history, and the actions: check health now, disable/enable, delete.
import { html, useState, useEffect, useApis, Loaded, Table, Health, ActionButton, TaskState, when, ago, useForm, Form, Field } from '../../ui.js';
import { post, put, del, get } from '../../api.js';
import { InfraPage, base, KINDS, styleText } from './common.js';

function Endpoint({ ctx, e }) {
  const style = e.CommunicationStyle;
  return html`
    <dt>Kind</dt><dd>${styleText(style)}</dd>
    ${style === 'Ssh' ? html`<dt>Host</dt><dd class="mono">${e.Host}:${e.Port}</dd><dt>Host key fingerprint</dt><dd class="mono">${e.Fingerprint}</dd>
      <dt>Account</dt><dd><a href=${base(ctx, `/accounts/${e.AccountId}`)}>${e.AccountId}</a></dd>` : null}
    ${style === 'TentaclePassive' || style === 'TentacleActive' ? html`<dt>Address</dt><dd class="mono">${e.Uri}</dd>
      <dt>Agent thumbprint</dt><dd class="mono">${e.Thumbprint}</dd>` : null}`;
}

function History({ connection }) {
  const columns = [
    { label: 'When', render: (l) => html`<time datetime=${l.OccurredAt} title=${when(l.OccurredAt)}>${ago(l.OccurredAt)}</time>` },
    { label: 'Became', render: (l) => html`<${Health} status=${l.Status} />` },
    { label: 'What the check found', render: (l) => l.MessageText },
  ];
  return html`<${Table} caption="Connection history" columns=${columns} rows=${connection.Logs}
    rowKey=${(l) => l.OccurredAt + l.Category} empty="No health changes recorded yet: it has not been checked." />`;
}

// "Check health now": queues the server's Health task for this machine, then follows it until it ends.
function CheckNow({ ctx, machine, onChecked }) {
  const [task, setTask] = useState(null);
  const follow = async (t) => {
    setTask(t);
    let current = t;
    while (!['Success', 'Failed', 'Canceled', 'TimedOut'].includes(current.State)) {
      await new Promise((r) => setTimeout(r, 1000));
      current = await get(`/api/tasks/${t.Id}`);
      setTask(current);
    }
    onChecked();
  };
  const queue = () => post(ctx.api('/tasks'), {
    Name: 'Health', Description: `Check ${machine.Name}`, Arguments: { MachineIds: [machine.Id] },
  });
  return html`<span class="check-now">
    <${ActionButton} label="Check health now" busyLabel="Queuing…" action=${queue} onDone=${follow} />
    ${task ? html`<span> <a href=${ctx.href(`/tasks/${task.Id}`)}>Health check</a> <${TaskState} state=${task.State} /></span>` : null}
  </span>`;
}

// Name, where the machine belongs and its policy; the API's messages show beside these fields.
function Settings({ ctx, kind, machine, places, policies, onSaved }) {
  const k = KINDS[kind];
  const form = useForm({
    Name: machine.Name, WorkerPoolIds: machine.WorkerPoolIds || [], EnvironmentIds: machine.EnvironmentIds || [],
    Roles: (machine.Roles || []).join(', '), MachinePolicyId: machine.MachinePolicyId,
  }, [{ name: 'Name', aliases: [`A ${k.noun} named`] }, { name: 'WorkerPoolIds', label: 'Worker pools', aliases: ['Worker pool'] },
    { name: 'EnvironmentIds', label: 'Environments', aliases: ['A deployment target needs at least one environment'] },
    { name: 'Roles', aliases: ['The roles'] }, { name: 'MachinePolicyId', label: 'Machine policy' }]);
  const [saved, setSaved] = useState(false);
  const save = async (v) => {
    setSaved(false);
    const body = { Name: v.Name, MachinePolicyId: v.MachinePolicyId };
    if (kind === 'worker') body.WorkerPoolIds = v.WorkerPoolIds;
    else { body.EnvironmentIds = v.EnvironmentIds; body.Roles = v.Roles.split(',').map((r) => r.trim()).filter(Boolean); }
    await put(ctx.api(`${k.api}/${machine.Id}`), body);
    setSaved(true);
    onSaved();
  };
  const options = (items) => items.map((i) => ({ value: i.Id, label: i.Name }));
  return html`<details class="panel machine-settings"><summary>Settings</summary>
    <${Form} form=${form} onSubmit=${save} extra=${saved ? html`<span role="status" class="muted">Saved</span>` : null}>
      <${Field} form=${form} name="Name" label=${`${k.Noun} name`} required />
      ${kind === 'worker'
        ? html`<${Field} form=${form} name="WorkerPoolIds" label="Worker pools" type="multiselect" options=${options(places)} />`
        : html`<${Field} form=${form} name="EnvironmentIds" label="Environments" type="multiselect" options=${options(places)} />
          <${Field} form=${form} name="Roles" label="Roles" help="Comma-separated" />`}
      ${policies.length ? html`<${Field} form=${form} name="MachinePolicyId" label="Machine policy" type="select" options=${options(policies)} />` : null}
    </${Form}></details>`;
}

export function Machine({ ctx, params, kind }) {
  const k = KINDS[kind];
  const state = useApis([ctx.api(`${k.api}/${params.id}`), ctx.api(`${k.api}/${params.id}/connection`),
    kind === 'worker' || ctx.can('EnvironmentView') ? ctx.api(kind === 'worker' ? '/workerpools/all' : '/environments/all') : null,
    ctx.can('MachinePolicyView') ? ctx.api('/machinepolicies/all') : null]);
  const m = state.data ? state.data[0] : null;
  const names = {};
  if (state.data) for (const item of [...(state.data[2] || []), ...(state.data[3] || [])]) names[item.Id] = item.Name;
  const canEdit = ctx.can(k.edit);
  // A machine not checked yet (just added, changed or enabled) is checked at once: show the result.
  const unchecked = m && !m.IsDisabled && m.HealthStatus === 'Unknown';
  useEffect(() => {
    if (!unchecked) return undefined;
    const timer = setTimeout(state.reload, 1500);
    return () => clearTimeout(timer);
  }, [unchecked, state.data]);
  const actions = m ? html`
    ${ctx.can('TaskCreate') && !m.IsDisabled ? html`<${CheckNow} ctx=${ctx} machine=${m} onChecked=${state.reload} />` : null}
    ${canEdit ? html`<${ActionButton} label=${m.IsDisabled ? 'Enable' : 'Disable'}
      action=${() => put(ctx.api(`${k.api}/${m.Id}`), { IsDisabled: !m.IsDisabled })} onDone=${state.reload} />` : null}
    ${ctx.can(k.remove) ? html`<${ActionButton} label="Delete" className="danger" confirmText=${`Delete the ${k.noun} ${m.Name}? This cannot be undone.`}
      action=${() => del(ctx.api(`${k.api}/${m.Id}`))} onDone=${() => ctx.navigate(base(ctx, k.path))} />` : null}` : null;
  return html`<${InfraPage} ctx=${ctx} here=${k.here} title=${m ? m.Name : k.Noun} subtitle=${k.Noun} actions=${actions} ready=${!state.loading}>
    <${Loaded} state=${state}>${([machine, connection]) => html`
      <div class="row">
        <div class="panel">
          <p class="machine-health"><${Health} status=${machine.HealthStatus} disabled=${machine.IsDisabled} />
            ${machine.IsDisabled ? html` <span class="muted">(last check: ${machine.HealthStatus})</span>` : null}</p>
          <p>${machine.StatusSummary || 'Not checked yet.'}</p>
          <dl class="kv">
            <dt>Last checked</dt><dd>${connection.LastChecked ? html`<time datetime=${connection.LastChecked} title=${when(connection.LastChecked)}>${ago(connection.LastChecked)}</time>` : 'never'}</dd>
            <dt>Agent version</dt><dd>${connection.CurrentTentacleVersion || 'Unknown'}</dd>
            <dt>Runner version</dt><dd>${connection.CurrentRunnerVersion || 'Unknown'}
              ${connection.CurrentRunnerVersion ? (machine.HasLatestCalamari ? ' (up to date)' : ' (an update is due)') : ''}</dd>
            <dt>Operating system</dt><dd>${machine.OperatingSystem} ${machine.Architecture !== 'Unknown' ? machine.Architecture : ''}</dd>
            <dt>Shell</dt><dd>${machine.ShellName}</dd>
          </dl>
        </div>
        <div class="panel">
          <dl class="kv">
            <${Endpoint} ctx=${ctx} e=${machine.Endpoint} />
            ${kind === 'worker'
              ? html`<dt>Worker pools</dt><dd>${machine.WorkerPoolIds.map((p, i) => html`${i ? ', ' : ''}<a href=${base(ctx, `/workerpools/${p}`)}>${names[p] || p}</a>`)}</dd>`
              : html`<dt>Environments</dt><dd>${machine.EnvironmentIds.map((e, i) => html`${i ? ', ' : ''}<a href=${base(ctx, `/environments/${e}`)}>${names[e] || e}</a>`)}</dd>
                <dt>Roles</dt><dd>${machine.Roles.join(', ')}</dd>`}
            <dt>Machine policy</dt><dd><a href=${base(ctx, `/machinepolicies/${machine.MachinePolicyId}`)}>${names[machine.MachinePolicyId] || machine.MachinePolicyId}</a></dd>
          </dl>
        </div>
      </div>
      ${canEdit && state.data[2] ? html`<${Settings} ctx=${ctx} kind=${kind} machine=${machine} places=${state.data[2]}
        policies=${state.data[3] || []} onSaved=${state.reload} />` : null}
      <${History} connection=${connection} />`}
    </${Loaded}>
  </${InfraPage}>`;
}
