// Machine policies: the list, and one policy's page to read and edit its health check, connectivity,
// clean-up and update settings. The API checks every value and its messages show beside the fields.
import { html, useState, useApi, Loaded, Table, Pager, useForm, Form, Field, ActionButton } from '../../ui.js';
import { post, put, del, query } from '../../api.js';
import { InfraPage, base, nameField } from './common.js';

export function Policies({ ctx }) {
  const [skip, setSkip] = useState(0);
  const state = useApi(ctx.api(`/machinepolicies${query({ skip, take: 30 })}`));
  const columns = [
    { label: 'Name', render: (p) => html`<a href=${base(ctx, `/machinepolicies/${p.Id}`)}>${p.Name}</a>${p.IsDefault ? html` <span class="badge run">Default</span>` : null}` },
    { label: 'Health check every', render: (p) => (p.MachineHealthCheckPolicy || {}).HealthCheckInterval },
    { label: 'Checks', render: (p) => ((p.MachineHealthCheckPolicy || {}).HealthCheckType === 'OnlyConnectivity' ? 'Connectivity only' : 'Run the health script') },
    { label: 'Description', render: (p) => p.Description || '' },
  ];
  const actions = ctx.can('MachinePolicyEdit') ? html`<a class="button primary" href=${base(ctx, '/machinepolicies/new')}>Add machine policy</a>` : null;
  return html`<${InfraPage} ctx=${ctx} here="/machinepolicies" title="Machine policies" actions=${actions} ready=${!state.loading}>
    <${Loaded} state=${state}>${(page) => html`
      <${Table} columns=${columns} rows=${page.Items} />
      <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />`}
    </${Loaded}>
  </${InfraPage}>`;
}

// Flat form values <-> the policy document's nested shape.
function toForm(p) {
  const h = p.MachineHealthCheckPolicy || {};
  return {
    Name: p.Name || '', Description: p.Description || '',
    HealthCheckType: h.HealthCheckType || 'RunScript', HealthCheckInterval: h.HealthCheckInterval || '',
    HealthCheckTimeout: h.HealthCheckTimeout || '', MinimumFreeDiskSpaceWarningMegabytes: h.MinimumFreeDiskSpaceWarningMegabytes ?? 500,
    ScriptBody: (h.BashHealthCheckPolicy || {}).ScriptBody || '',
    MachineConnectivityBehavior: (p.MachineConnectivityPolicy || {}).MachineConnectivityBehavior || 'ExpectedToBeOnline',
    DeleteMachinesBehavior: (p.MachineCleanupPolicy || {}).DeleteMachinesBehavior || 'DoNotDelete',
    DeleteMachinesElapsedTimeSpan: (p.MachineCleanupPolicy || {}).DeleteMachinesElapsedTimeSpan || '',
    CalamariUpdateBehavior: (p.MachineUpdatePolicy || {}).CalamariUpdateBehavior || 'UpdateOnDeployment',
    ConnectionConnectTimeout: p.ConnectionConnectTimeout || '',
  };
}

function toPolicy(v) {
  return {
    Name: v.Name, Description: v.Description,
    ConnectionConnectTimeout: v.ConnectionConnectTimeout || undefined,
    MachineHealthCheckPolicy: {
      HealthCheckType: v.HealthCheckType, HealthCheckInterval: v.HealthCheckInterval, HealthCheckTimeout: v.HealthCheckTimeout,
      MinimumFreeDiskSpaceWarningMegabytes: v.MinimumFreeDiskSpaceWarningMegabytes === '' ? null : v.MinimumFreeDiskSpaceWarningMegabytes,
      BashHealthCheckPolicy: { RunType: 'Inline', ScriptBody: v.ScriptBody || null },
    },
    MachineConnectivityPolicy: { MachineConnectivityBehavior: v.MachineConnectivityBehavior },
    MachineCleanupPolicy: { DeleteMachinesBehavior: v.DeleteMachinesBehavior, DeleteMachinesElapsedTimeSpan: v.DeleteMachinesElapsedTimeSpan },
    MachineUpdatePolicy: { CalamariUpdateBehavior: v.CalamariUpdateBehavior },
  };
}

const FIELDS = [
  nameField('machine policy'), { name: 'Description' },
  { name: 'HealthCheckType', aliases: ['MachineHealthCheckPolicy.HealthCheckType'] },
  { name: 'HealthCheckInterval', aliases: ['MachineHealthCheckPolicy.HealthCheckInterval'] },
  { name: 'HealthCheckTimeout', aliases: ['MachineHealthCheckPolicy.HealthCheckTimeout'] },
  { name: 'MinimumFreeDiskSpaceWarningMegabytes', aliases: ['MachineHealthCheckPolicy.MinimumFreeDiskSpaceWarningMegabytes'] },
  { name: 'MachineConnectivityBehavior', aliases: ['MachineConnectivityPolicy.MachineConnectivityBehavior'] },
  { name: 'DeleteMachinesBehavior', aliases: ['MachineCleanupPolicy.DeleteMachinesBehavior'] },
  { name: 'DeleteMachinesElapsedTimeSpan', aliases: ['MachineCleanupPolicy.DeleteMachinesElapsedTimeSpan'] },
  { name: 'CalamariUpdateBehavior', aliases: ['MachineUpdatePolicy.CalamariUpdateBehavior'] },
  { name: 'ConnectionConnectTimeout' },
];

function PolicyForm({ ctx, policy, isNew }) {
  const form = useForm(toForm(policy), FIELDS);
  const [saved, setSaved] = useState(false);
  const editable = ctx.can('MachinePolicyEdit');
  const save = async (v) => {
    setSaved(false);
    if (isNew) {
      const made = await post(ctx.api('/machinepolicies'), toPolicy(v));
      ctx.navigate(base(ctx, `/machinepolicies/${made.Id}`));
    } else {
      await put(ctx.api(`/machinepolicies/${policy.Id}`), toPolicy(v));
      setSaved(true);
    }
  };
  const f = (name, label, extra = {}) => html`<${Field} form=${form} name=${name} label=${label} disabled=${!editable} ...${extra} />`;
  return html`<${Form} form=${form} onSubmit=${save} submitLabel=${isNew ? 'Add policy' : 'Save'}
      extra=${saved ? html`<span role="status" class="muted">Saved</span>` : null}>
    ${f('Name', 'Policy name', { required: true })}
    ${f('Description', 'Description')}
    <h2>Health check</h2>
    ${f('HealthCheckType', 'What a check does', { type: 'select', options: [{ value: 'RunScript', label: 'Connect and run the health script' }, { value: 'OnlyConnectivity', label: 'Only connect' }] })}
    ${f('HealthCheckInterval', 'Check every', { help: 'A time span, e.g. 01:00:00 for an hour' })}
    ${f('HealthCheckTimeout', 'Give up on a check after', { help: 'e.g. 00:05:00' })}
    ${f('MinimumFreeDiskSpaceWarningMegabytes', 'Warn below this much free disk (MB)', { type: 'number' })}
    ${f('ScriptBody', 'Health script (Bash)', { type: 'textarea', rows: 4, help: 'Fails the check by exiting non-zero; warns by writing a warning' })}
    <h2>Connectivity</h2>
    ${f('MachineConnectivityBehavior', 'During deployments', { type: 'select', options: [{ value: 'ExpectedToBeOnline', label: 'Machines are expected to be online' }, { value: 'MayBeOfflineAndCanBeSkipped', label: 'Machines may be offline and are skipped' }] })}
    ${f('ConnectionConnectTimeout', 'Connect timeout')}
    <h2>Clean-up and updates</h2>
    ${f('DeleteMachinesBehavior', 'Unavailable machines', { type: 'select', options: [{ value: 'DoNotDelete', label: 'Keep them' }, { value: 'DeleteUnavailableMachines', label: 'Delete them' }] })}
    ${f('DeleteMachinesElapsedTimeSpan', 'Delete after unavailable for')}
    ${f('CalamariUpdateBehavior', 'Runner updates', { type: 'select', options: ['UpdateOnDeployment', 'UpdateOnNewMachine', 'UpdateAlways'] })}
  </${Form}>`;
}

export function Policy({ ctx, params }) {
  const isNew = params.id === undefined;
  const state = useApi(ctx.api(isNew ? '/machinepolicies/template' : `/machinepolicies/${params.id}`));
  const p = state.data;
  const actions = p && !isNew && !p.IsDefault && ctx.can('MachinePolicyEdit') ? html`<${ActionButton} label="Delete policy" className="danger"
    confirmText=${`Delete the machine policy ${p.Name}?`} action=${() => del(ctx.api(`/machinepolicies/${p.Id}`))}
    onDone=${() => ctx.navigate(base(ctx, '/machinepolicies'))} />` : null;
  return html`<${InfraPage} ctx=${ctx} here="/machinepolicies" title=${isNew ? 'Add a machine policy' : (p ? p.Name : 'Machine policy')}
    actions=${actions} ready=${!state.loading}>
    <${Loaded} state=${state}>${(policy) => html`<${PolicyForm} ctx=${ctx} policy=${isNew ? { ...policy, Name: '' } : policy} isNew=${isNew} />`}</${Loaded}>
  </${InfraPage}>`;
}
