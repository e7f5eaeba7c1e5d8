// The add-worker and add-deployment-target wizard: choose how the server reaches the machine, then
//  - Listening: the server discovers the agent's certificate thumbprint at the host and port typed; the
//    person confirms it (comparing with `argonaut agent show-thumbprint`) and the machine is added.
//  - Polling: a one-line command to run on the machine (create the agent, register it with a fresh API
//    key, run it); the page then waits for the machine to appear and shows its health as it changes.
//  - SSH: the server discovers the host's key fingerprint; the person confirms it and picks an account.
import { html, useState, useEffect, useApis, Loaded, useForm, Form, Field, CopyBox, Health } from '../../ui.js';
import { get, post, query } from '../../api.js';
import { InfraPage, base, KINDS } from './common.js';

const STYLES = [
  { value: 'TentaclePassive', label: 'Listening agent', help: 'The server connects to an agent listening on the machine (port 10933).' },
  { value: 'TentacleActive', label: 'Polling agent', help: 'The agent on the machine connects out to the server: no inbound port needed.' },
  { value: 'Ssh', label: 'SSH', help: 'The server logs in over SSH with an account; nothing to install.' },
];

// Text safe to paste into a POSIX shell as one word.
const sh = (s) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, "'\\''")}'`);
const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'agent';
const split = (text) => text.split(',').map((r) => r.trim()).filter(Boolean);

// Where the machine goes: a worker's pools, or a target's environments and roles.
function Placement({ form, kind, pools, environments }) {
  if (kind === 'worker') {
    return html`<${Field} form=${form} name="WorkerPoolIds" label="Worker pools" type="multiselect"
      options=${pools.map((p) => ({ value: p.Id, label: p.Name }))} help="Choose one or more" />`;
  }
  return html`
    <${Field} form=${form} name="EnvironmentIds" label="Environments" type="multiselect"
      options=${environments.map((e) => ({ value: e.Id, label: e.Name }))} help="Choose one or more" />
    <${Field} form=${form} name="Roles" label="Roles" help="Comma-separated, e.g. web, api" />`;
}

function machineBody(kind, v, endpoint) {
  const body = { Name: v.Name, Endpoint: endpoint };
  if (kind === 'worker') body.WorkerPoolIds = v.WorkerPoolIds;
  else { body.EnvironmentIds = v.EnvironmentIds; body.Roles = split(v.Roles); }
  return body;
}

const FIELDS = [
  { name: 'Name', aliases: ['A worker named', 'A deployment target named'] }, { name: 'Host', aliases: ['Endpoint.Host', 'Endpoint.Uri', 'Cannot connect to', 'Nothing answered at'] },
  { name: 'Port', aliases: ['Endpoint.Port'] }, { name: 'WorkerPoolIds', label: 'Worker pools', aliases: ['Worker pool'] },
  { name: 'EnvironmentIds', label: 'Environments', aliases: ['Environment'] }, { name: 'Roles' },
  { name: 'AccountId', label: 'Account', aliases: ['Endpoint.AccountId'] },
];

// Listening and SSH: discover what the machine presents, confirm it, then add the machine.
function Discovered({ ctx, kind, style, data }) {
  const k = KINDS[kind];
  const [pools, environments, accounts, certificate] = data;
  const form = useForm({
    Name: '', Host: '', Port: style === 'Ssh' ? 22 : 10933, WorkerPoolIds: ctx.initialPool ? [ctx.initialPool] : [],
    EnvironmentIds: ctx.initialEnvironment ? [ctx.initialEnvironment] : [], Roles: '', AccountId: accounts.length ? accounts[0].Id : '',
  }, FIELDS);
  const [found, setFound] = useState(null);
  const v = form.values;
  const discover = async (values) => {
    setFound(null);
    const answer = await get(ctx.api(`${k.api}/discover${query({ host: values.Host, port: values.Port, type: style })}`));
    setFound(answer.Endpoint);
    if (!values.Name) form.set('Name', values.Host);
  };
  const add = async (values) => {
    const endpoint = style === 'Ssh'
      ? { ...found, AccountId: values.AccountId }
      : { CommunicationStyle: 'TentaclePassive', Uri: found.Uri, Thumbprint: found.Thumbprint };
    const made = await post(ctx.api(k.api), machineBody(kind, values, endpoint));
    ctx.navigate(base(ctx, `${k.path}/${made.Id}`));
  };
  const what = style === 'Ssh' ? 'host key fingerprint' : 'certificate thumbprint';
  if (!found) {
    return html`<${Form} form=${form} onSubmit=${discover} submitLabel=${`Discover the ${what}`}>
      <${Field} form=${form} name="Host" label="Host" required help="Host name or IP address of the machine" />
      <${Field} form=${form} name="Port" label="Port" type="number" required />
    </${Form}>`;
  }
  const back = encodeURIComponent(window.location.pathname + window.location.search);
  return html`<${Form} form=${form} onSubmit=${add} submitLabel=${`Add ${k.noun}`}
      extra=${html`<button type="button" onClick=${() => setFound(null)}>Back</button>`}>
    <div class="info" role="status">
      <p>${v.Host}:${v.Port} presented this ${what}:</p>
      <p class="mono discovered">${style === 'Ssh' ? found.Fingerprint : found.Thumbprint}</p>
      <p>${style === 'Ssh' ? 'Compare it with the host key of the machine (ssh-keygen -lf on its host key) before you add it.'
        : 'Compare it with what `argonaut agent show-thumbprint` prints on the machine before you add it.'}</p>
    </div>
    ${style === 'TentaclePassive' ? html`<p>The agent must also trust this server. On the machine, run:</p>
      <${CopyBox} text=${`argonaut agent configure --trust ${certificate.Thumbprint}`} label="Copy the trust command" />` : null}
    <${Field} form=${form} name="Name" label=${`${k.Noun} name`} required />
    <${Placement} form=${form} kind=${kind} pools=${pools} environments=${environments} />
    ${style === 'Ssh' ? html`
      <${Field} form=${form} name="AccountId" label="Account" type="select"
        options=${[{ value: '', label: accounts.length ? 'Choose an account' : 'No accounts yet' }, ...accounts.map((a) => ({ value: a.Id, label: `${a.Name} (${a.Username || a.AccountType})` }))]} />
      <p><a href=${`${base(ctx, '/accounts/new')}?back=${back}`}>Create an account</a></p>` : null}
  </${Form}>`;
}

// Polling: the command to run on the machine, then the machine as it appears and turns healthy.
function Polling({ ctx, kind, data }) {
  const k = KINDS[kind];
  const [pools, environments, , certificate] = data;
  const form = useForm({
    Name: '', WorkerPoolIds: ctx.initialPool ? [ctx.initialPool] : (pools.filter((p) => p.IsDefault).map((p) => p.Id)),
    EnvironmentIds: ctx.initialEnvironment ? [ctx.initialEnvironment] : [], Roles: '',
  }, FIELDS);
  const [command, setCommand] = useState(null);
  const make = async (v) => {
    const errors = [];
    if (!v.Name.trim()) errors.push('Name: give the machine a name');
    if (kind === 'worker' && !v.WorkerPoolIds.length) errors.push('Worker pools: choose at least one pool');
    if (kind === 'target' && !v.EnvironmentIds.length) errors.push('Environments: choose at least one environment');
    if (kind === 'target' && !split(v.Roles).length) errors.push('Roles: give at least one role');
    if (errors.length) { form.setFailure({ message: errors[0], errors }); return; }
    const expires = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
    const key = await post(`/api/users/${ctx.me.Id}/apikeys`, { Purpose: `Register the ${k.noun} ${v.Name.trim()}`, Expires: expires });
    const home = `./argonaut-agent-${slug(v.Name)}`;
    const where = kind === 'worker'
      ? `register-worker --home ${home} ${v.WorkerPoolIds.map((p) => `--pool ${sh(p)}`).join(' ')}`
      : `register-with --home ${home} ${v.EnvironmentIds.map((e) => `--environment ${sh(e)}`).join(' ')} ${split(v.Roles).map((r) => `--role ${sh(r)}`).join(' ')}`;
    setCommand({
      name: v.Name.trim(),
      text: `argonaut agent create-instance --home ${home} --no-listen && `
        + `argonaut agent ${where} --server ${sh(window.location.origin)} --api-key ${key.ApiKey} --space ${sh(ctx.space)} `
        + `--name ${sh(v.Name.trim())} --comms-style TentacleActive && argonaut agent run --home ${home}`,
    });
  };
  if (!command) {
    return html`<${Form} form=${form} onSubmit=${make} submitLabel="Show the command">
      <${Field} form=${form} name="Name" label=${`${k.Noun} name`} required />
      <${Placement} form=${form} kind=${kind} pools=${pools} environments=${environments} />
    </${Form}>`;
  }
  return html`<div>
    <p>On the machine (with argonaut installed), run this one line. It creates the agent in a folder of its own,
      registers it with this server using a new API key of yours (valid for a day), and runs it:</p>
    <${CopyBox} text=${command.text} label="Copy the command" />
    <p>The agent pins this server's certificate. Its thumbprint, to compare with what the agent reports:${' '}
      <span class="mono server-thumbprint">${certificate.Thumbprint}</span></p>
    <${Arrival} ctx=${ctx} kind=${kind} name=${command.name} />
  </div>`;
}

// Polls the API until the machine named `name` exists, then follows its health.
function Arrival({ ctx, kind, name }) {
  const k = KINDS[kind];
  const [machine, setMachine] = useState(null);
  useEffect(() => {
    let live = true;
    let timer;
    const poll = async () => {
      try {
        const page = await get(ctx.api(`${k.api}${query({ name, take: 1 })}`));
        if (live) setMachine(page.Items[0] || null);
        if (page.Items[0] && page.Items[0].HealthStatus === 'Healthy') return;
      } catch (_) { /* keep waiting: the next poll says more */ }
      if (live) timer = setTimeout(poll, 1500);
    };
    poll();
    return () => { live = false; clearTimeout(timer); };
  }, [name]);
  if (!machine) return html`<p class="notice" role="status">Waiting for ${name} to register…</p>`;
  return html`<div class="panel" role="status" aria-live="polite">
    <p><a href=${base(ctx, `${k.path}/${machine.Id}`)}>${machine.Name}</a> has registered: <${Health} status=${machine.HealthStatus} disabled=${machine.IsDisabled} /></p>
    <p class="muted">${machine.HealthStatus === 'Healthy' ? `${machine.Name} is healthy and ready.` : (machine.StatusSummary || 'Waiting for its first health check…')}</p>
  </div>`;
}

export function AddMachine({ ctx, kind, query: q }) {
  const k = KINDS[kind];
  const [style, setStyle] = useState('');
  const state = useApis([
    kind === 'worker' ? ctx.api('/workerpools/all') : null,
    kind === 'target' ? ctx.api('/environments/all') : null,
    ctx.can('AccountView') ? ctx.api('/accounts/all') : null,
    '/api/configuration/certificates/certificate-global',
  ]);
  const data = state.data ? [state.data[0] || [], state.data[1] || [], state.data[2] || [], state.data[3]] : null;
  const wctx = { ...ctx, initialPool: q && q.pool, initialEnvironment: q && q.environment };
  return html`<${InfraPage} ctx=${ctx} here=${k.here} title=${`Add a ${k.noun}`} ready=${!state.loading}>
    <${Loaded} state=${state}>${() => html`
      <fieldset class="style-choice">
        <legend>How does the server reach it?</legend>
        ${STYLES.map((s) => html`<div class="style-option">
          <input type="radio" id=${`style-${s.value}`} name="style" value=${s.value} checked=${style === s.value}
            aria-describedby=${`style-${s.value}-help`} onChange=${() => setStyle(s.value)} />
          <div><label for=${`style-${s.value}`}><strong>${s.label}</strong></label><br />
            <span id=${`style-${s.value}-help`} class="muted">${s.help}</span></div></div>`)}
      </fieldset>
      ${style === 'TentacleActive' ? html`<${Polling} key=${style} ctx=${wctx} kind=${kind} data=${data} />` : null}
      ${style === 'TentaclePassive' || style === 'Ssh' ? html`<${Discovered} key=${style} ctx=${wctx} kind=${kind} style=${style} data=${data} />` : null}`}
    </${Loaded}>
  </${InfraPage}>`;
}
