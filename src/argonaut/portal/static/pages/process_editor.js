// The process editor shared by deployment processes and runbook processes (same Steps shape).
// It edits the document the API returned and PUTs it back whole with the Version it read, so the
// server's validation (processes.py) is the only judge: its errors are shown beside the step and the
// field they name, and anything it cannot place goes beside the Save button.
//
//   export function ProcessEditor({ ctx, processUrl, kind, onReady })   // kind: 'deployment' | 'runbook'
import { html, useState, useEffect, Loaded, Field } from '../ui.js';
import { get, put, ApiFailure } from '../api.js';

const SCRIPT = 'Octopus.Script';
const MANUAL = 'Octopus.Manual';
const EMAIL = 'Octopus.Email';
const TYPE_LABEL = { [SCRIPT]: 'Run a script', [MANUAL]: 'Manual intervention', [EMAIL]: 'Send an email' };

const P = {
  roles: 'Octopus.Action.TargetRoles',
  parallel: 'Octopus.Action.MaxParallelism',
  conditionExpr: 'Octopus.Step.ConditionVariableExpression',
  runOnServer: 'Octopus.Action.RunOnServer',
  source: 'Octopus.Action.Script.ScriptSource',
  syntax: 'Octopus.Action.Script.Syntax',
  body: 'Octopus.Action.Script.ScriptBody',
  instructions: 'Octopus.Action.Manual.Instructions',
  teams: 'Octopus.Action.Manual.ResponsibleTeamIds',
  to: 'Octopus.Action.Email.To',
  subject: 'Octopus.Action.Email.Subject',
  emailBody: 'Octopus.Action.Email.Body',
};

const LOCATIONS = [
  { value: 'server', label: 'Run on the server (the built-in worker or the default pool)' },
  { value: 'worker', label: 'Run once on a worker' },
  { value: 'targets', label: 'Run on each deployment target with the roles' },
  { value: 'workerForTargets', label: 'Run on a worker on behalf of each target with the roles' },
];

// Which editor field an error of the server's is about, by the words it uses.
const FIELD_HINTS = [
  ['ScriptBody', /Script\.ScriptBody|inline script/i],
  ['Syntax', /Script\.Syntax|scripts cannot run|scripts are not supported|script syntax/i],
  ['Instructions', /Manual\.Instructions|manual intervention without/i],
  ['To', /Email\.To\b/i],
  ['Subject', /Email\.Subject/i],
  ['MaxParallelism', /MaxParallelism/i],
  ['Roles', /TargetRoles|target roles|role/i],
  ['WorkerPoolId', /WorkerPool|worker pool/i],
  ['ConditionExpression', /ConditionVariableExpression/i],
  ['Condition', /Condition/],
  ['StartTrigger', /StartTrigger/],
  ['Name', /Name\b|name '/],
];

function prop(obj, key) {
  const v = ((obj && obj.Properties) || {})[key];
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? (v.NewValue || '') : String(v);
}

function locationOf(step) {
  const action = step.Actions[0] || {};
  const roles = prop(step, P.roles).trim();
  const onServer = prop(action, P.runOnServer).toLowerCase() === 'true';
  if (roles) return onServer ? 'workerForTargets' : 'targets';
  return action.WorkerPoolId ? 'worker' : 'server';
}

// A fresh step of a kind, with one action named as the step (the described system's single-action steps).
function newStep(type, taken) {
  const base = { [SCRIPT]: 'Run a script', [MANUAL]: 'Manual intervention', [EMAIL]: 'Send an email' }[type];
  let name = base;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base} ${n}`;
  const actionProps = {};
  if (type === SCRIPT) Object.assign(actionProps, { [P.runOnServer]: 'true', [P.source]: 'Inline', [P.syntax]: 'Bash', [P.body]: '' });
  if (type === MANUAL) actionProps[P.instructions] = '';
  if (type === EMAIL) Object.assign(actionProps, { [P.to]: '', [P.subject]: '', [P.emailBody]: '' });
  return {
    Name: name, Condition: 'Success', StartTrigger: 'StartAfterPrevious', PackageRequirement: 'LetOctopusDecide',
    Properties: {},
    Actions: [{ Name: name, ActionType: type, IsDisabled: false, IsRequired: false, WorkerPoolId: null, Environments: [], ExcludedEnvironments: [], Channels: [], TenantTags: [], Packages: [], Condition: 'Success', Properties: actionProps }],
    _new: true,
  };
}

// Where a step runs, in a few words for its line in the list.
function summary(step) {
  const action = (step.Actions || [])[0] || {};
  if (action.ActionType !== SCRIPT) return '';
  const roles = prop(step, P.roles).trim();
  const where = { server: 'on the server', worker: 'once on a worker', targets: `on targets with roles ${roles}`, workerForTargets: `on a worker for targets with roles ${roles}` };
  return ` ${where[locationOf(step)]}`;
}

// Which step an error names: "step 'Name'", "step #n", "the step name 'Name'", "action 'Name' of …".
function stepOfError(error, steps) {
  const lower = error.toLowerCase();
  for (let i = 0; i < steps.length; i++) {
    const name = (steps[i].Name || '').toLowerCase();
    if (name && (lower.includes(`step '${name}'`) || lower.includes(`step name '${name}'`))) return i;
  }
  const number = /step #(\d+)/i.exec(error);
  if (number) return Number(number[1]) - 1;
  for (let i = 0; i < steps.length; i++) {
    const action = ((steps[i].Actions || [])[0] || {}).Name || '';
    if (action && (lower.includes(`action '${action.toLowerCase()}'`) || lower.includes(`action name '${action.toLowerCase()}'`))) return i;
  }
  return -1;
}

function fieldOfError(error) {
  const hit = FIELD_HINTS.find(([, re]) => re.test(error));
  return hit ? hit[0] : null;
}

// The process, and the pools and teams to pick from, in parallel; pools and teams are optional (a user
// who may edit a process without seeing worker pools or teams still gets the editor, with ids to keep).
function useProcess(ctx, processUrl) {
  const [state, setState] = useState({ data: undefined, error: null });
  useEffect(() => {
    let live = true;
    const optional = (path) => get(path).catch(() => null);
    Promise.all([get(processUrl), optional(ctx.api('/workerpools/all')), optional(ctx.api('/teams?take=200'))])
      .then((data) => live && setState({ data, error: null }))
      .catch((error) => live && setState({ data: undefined, error }));
    return () => { live = false; };
  }, [processUrl]);
  return state;
}

// onReady (optional) is called once the process has loaded or failed to, for the page's data-ready.
export function ProcessEditor({ ctx, processUrl, kind = 'deployment', onReady }) {
  const state = useProcess(ctx, processUrl);
  useEffect(() => { if (onReady && (state.data || state.error)) onReady(); }, [state.data, state.error]);
  return html`<div class="process-editor" data-process-ready=${state.data ? 'true' : 'false'}>
    <${Loaded} state=${state}>${([process, pools, teams]) => html`<${Editor} key=${process.Id} ctx=${ctx} processUrl=${processUrl} kind=${kind}
      initial=${process} pools=${pools || []} teams=${(teams && teams.Items) || teams || []} />`}</${Loaded}>
  </div>`;
}

function Editor({ ctx, processUrl, kind, initial, pools, teams }) {
  const [process, setProcess] = useState(initial);
  const [steps, setSteps] = useState(() => (initial.Steps || []).map((s) => ({ ...s })));
  const [open, setOpen] = useState(null); // index of the step being edited
  const [failure, setFailure] = useState(null);
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [saved, setSaved] = useState(false);
  const canEdit = kind === 'runbook' ? ctx.can('RunbookEdit') : ctx.can('ProcessEdit');

  const change = (next) => { setSteps(next); setDirty(true); setSaved(false); };
  const updateStep = (i, fn) => change(steps.map((s, j) => (j === i ? fn(s) : s)));
  const add = (type) => {
    const taken = new Set(steps.map((s) => (s.Name || '').toLowerCase()));
    change([...steps, newStep(type, taken)]);
    setOpen(steps.length);
  };
  const remove = (i) => {
    if (!window.confirm(`Remove the step '${steps[i].Name}'?`)) return;
    change(steps.filter((_, j) => j !== i));
    setOpen(null);
  };
  const move = (i, by) => {
    const j = i + by;
    if (j < 0 || j >= steps.length) return;
    const next = steps.slice();
    [next[i], next[j]] = [next[j], next[i]];
    change(next);
    if (open === i) setOpen(j); else if (open === j) setOpen(i);
  };
  const save = async () => {
    setBusy(true); setFailure(null); setSaved(false);
    try {
      const body = { ...process, Steps: steps.map(({ _new, ...s }) => s) };
      const result = await put(processUrl, body);
      setProcess(result);
      setSteps((result.Steps || []).map((s) => ({ ...s })));
      setDirty(false); setSaved(true);
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      setFailure(e);
    } finally { setBusy(false); }
  };

  // The server's errors, each attached to a step (and field) where it can be, else to the Save button.
  const all = failure ? (failure.errors.length ? failure.errors : [failure.message]) : [];
  const byStep = new Map();
  const rest = [];
  for (const e of all) {
    const i = stepOfError(e, steps);
    if (i >= 0 && i < steps.length) { if (!byStep.has(i)) byStep.set(i, []); byStep.get(i).push(e); } else rest.push(e);
  }
  useEffect(() => { if (failure && byStep.size && (open === null || !byStep.has(open))) setOpen([...byStep.keys()][0]); }, [failure]);

  return html`<div>
    ${steps.length === 0 ? html`<p class="empty">This ${kind === 'runbook' ? 'runbook' : 'project'} has no steps yet. Add one below.</p>` : null}
    <ol class="steps-list process-steps" aria-label="Steps">
      ${steps.map((step, i) => {
        const action = (step.Actions || [])[0] || {};
        const errs = byStep.get(i) || [];
        return html`<li key=${step.Id || `new-${i}`} class=${`process-step ${open === i ? 'open' : ''} ${errs.length ? 'has-error' : ''}`}>
          <div class="process-step-head">
            <span><strong>${i + 1}. ${step.Name || '(unnamed)'}</strong>
              <span class="muted"> · ${TYPE_LABEL[action.ActionType] || action.ActionType}${summary(step)}${step.StartTrigger === 'StartWithPrevious' ? ' · starts with the previous step' : ''}${step.Condition && step.Condition !== 'Success' ? ` · runs on ${step.Condition}` : ''}</span>
              ${errs.length ? html` <span class="badge bad">${errs.length} problem${errs.length > 1 ? 's' : ''}</span>` : null}</span>
            <span class="actions">
              <button type="button" onClick=${() => setOpen(open === i ? null : i)} aria-expanded=${open === i ? 'true' : 'false'}
                aria-label=${`${open === i ? 'Close' : 'Edit'} step ${step.Name}`}>${open === i ? 'Close' : 'Edit'}</button>
              ${canEdit ? html`
              <button type="button" disabled=${i === 0} onClick=${() => move(i, -1)} aria-label=${`Move step ${step.Name} up`}>↑</button>
              <button type="button" disabled=${i === steps.length - 1} onClick=${() => move(i, 1)} aria-label=${`Move step ${step.Name} down`}>↓</button>
              <button type="button" class="danger" onClick=${() => remove(i)} aria-label=${`Remove step ${step.Name}`}>Remove</button>` : null}
            </span>
          </div>
          ${open === i ? html`<${StepEditor} step=${step} errors=${errs} pools=${pools} teams=${teams} kind=${kind}
            onChange=${(fn) => updateStep(i, fn)} />` : null}
        </li>`;
      })}
    </ol>
    ${canEdit ? html`<div class="process-add actions">
      <button type="button" onClick=${() => add(SCRIPT)}>Add a script step</button>
      <button type="button" onClick=${() => add(MANUAL)}>Add a manual intervention step</button>
      <button type="button" onClick=${() => add(EMAIL)}>Add an email step</button>
    </div>
    <div class="form-actions process-save">
      <button type="button" class="primary" disabled=${busy} onClick=${save}>${busy ? 'Saving…' : 'Save process'}</button>
      ${dirty ? html`<span class="muted">Unsaved changes</span>` : null}
      ${saved ? html`<span class="badge ok" role="status">Saved (version ${process.Version})</span>` : null}
      ${rest.length ? html`<div class="form-error" role="alert">${rest.map((e) => html`<div>${e}</div>`)}</div>` : null}
    </div>` : html`<p class="muted">You may view this process but not change it.</p>`}
  </div>`;
}

function StepEditor({ step, errors, pools, teams, kind, onChange }) {
  const action = (step.Actions || [])[0] || { Properties: {} };
  const type = action.ActionType;
  const location = locationOf(step);
  const errorsOf = (name) => errors.filter((e) => fieldOfError(e) === name);
  const setStep = (fields, props) => onChange((s) => ({ ...s, ...fields, Properties: { ...(s.Properties || {}), ...(props || {}) } }));
  const setAction = (fields, props) => onChange((s) => ({
    ...s,
    Actions: s.Actions.map((a, j) => (j === 0 ? { ...a, ...fields, Properties: { ...(a.Properties || {}), ...(props || {}) } } : a)),
  }));
  const values = {
    Name: step.Name,
    Location: location,
    Roles: prop(step, P.roles),
    WorkerPoolId: action.WorkerPoolId || '',
    Condition: step.Condition || 'Success',
    ConditionExpression: prop(step, P.conditionExpr),
    StartTrigger: step.StartTrigger || 'StartAfterPrevious',
    MaxParallelism: prop(step, P.parallel),
    Syntax: prop(action, P.syntax) || 'Bash',
    ScriptBody: prop(action, P.body),
    Instructions: prop(action, P.instructions),
    Teams: prop(action, P.teams).split(',').map((t) => t.trim()).filter(Boolean),
    To: prop(action, P.to),
    Subject: prop(action, P.subject),
    EmailBody: prop(action, P.emailBody),
    IsDisabled: !!action.IsDisabled,
  };
  const set = (name, value) => {
    switch (name) {
      case 'Name': {
        const renameAction = !action.Name || action.Name === step.Name;
        onChange((s) => ({ ...s, Name: value, Actions: s.Actions.map((a, j) => (j === 0 && renameAction ? { ...a, Name: value } : a)) }));
        break;
      }
      case 'Location': {
        const onServer = value !== 'targets';
        const keepPool = value === 'worker' || value === 'workerForTargets';
        const needsRoles = value === 'targets' || value === 'workerForTargets';
        onChange((s) => ({
          ...s,
          Properties: { ...(s.Properties || {}), [P.roles]: needsRoles ? prop(s, P.roles) : '' },
          Actions: s.Actions.map((a, j) => (j === 0 ? { ...a, WorkerPoolId: keepPool ? a.WorkerPoolId : null, Properties: { ...(a.Properties || {}), [P.runOnServer]: onServer ? 'true' : 'false' } } : a)),
        }));
        break;
      }
      case 'Roles': setStep({}, { [P.roles]: value }); break;
      case 'WorkerPoolId': setAction({ WorkerPoolId: value || null }); break;
      case 'Condition': setStep({ Condition: value }); break;
      case 'ConditionExpression': setStep({}, { [P.conditionExpr]: value }); break;
      case 'StartTrigger': setStep({ StartTrigger: value }); break;
      case 'MaxParallelism': setStep({}, { [P.parallel]: String(value) }); break;
      case 'Syntax': setAction({}, { [P.syntax]: value }); break;
      case 'ScriptBody': setAction({}, { [P.body]: value }); break;
      case 'Instructions': setAction({}, { [P.instructions]: value }); break;
      case 'Teams': setAction({}, { [P.teams]: value.join(',') }); break;
      case 'To': setAction({}, { [P.to]: value }); break;
      case 'Subject': setAction({}, { [P.subject]: value }); break;
      case 'EmailBody': setAction({}, { [P.emailBody]: value }); break;
      case 'IsDisabled': setAction({ IsDisabled: value }); break;
      default: break;
    }
  };
  // A location is remembered in the UI even before roles are typed (roles decide it in the document).
  const [chosen, setChosen] = useState(location);
  const where = chosen;
  const form = { values: { ...values, Location: where }, set: (n, v) => { if (n === 'Location') setChosen(v); set(n, v); }, errorsOf };
  const poolOptions = [{ value: '', label: 'The space\'s default pool' }, ...pools.map((p) => ({ value: p.Id, label: p.Name }))];
  const runsOnWorker = where === 'worker' || where === 'workerForTargets';
  const withRoles = where === 'targets' || where === 'workerForTargets';
  const parts = html`
    <${Field} form=${form} name="Name" label="Step name" required />
    ${type === SCRIPT ? html`
      <${Field} form=${form} name="Location" label="Execution location" type="select" options=${LOCATIONS} />
      ${withRoles ? html`<${Field} form=${form} name="Roles" label="Target roles" help="Comma-separated; the step runs for each target in the environment with one of these roles." />` : null}
      ${runsOnWorker ? html`<${Field} form=${form} name="WorkerPoolId" label="Worker pool" type="select" options=${poolOptions} />` : null}
      ${withRoles ? html`<${Field} form=${form} name="MaxParallelism" label="Maximum parallelism" help="How many targets run at once (a number or a variable); empty means 10." />` : null}
      <${Field} form=${form} name="Syntax" label="Script syntax" type="select" options=${['Bash', 'Python']} />
      <${Field} form=${form} name="ScriptBody" label="Script body" type="textarea" rows=${10} />` : null}
    ${type === MANUAL ? html`
      <${Field} form=${form} name="Instructions" label="Instructions" type="textarea" rows=${4} />
      <${Field} form=${form} name="Teams" label="Responsible teams" type="multiselect" options=${teams.map((t) => ({ value: t.Id, label: t.Name }))}
        help="Only members of these teams may take and submit the intervention; none means anyone who may." />` : null}
    ${type === EMAIL ? html`
      <${Field} form=${form} name="To" label="To" help="Addresses, comma-separated." />
      <${Field} form=${form} name="Subject" label="Subject" />
      <${Field} form=${form} name="EmailBody" label="Body" type="textarea" rows=${5} />` : null}
    <${Field} form=${form} name="Condition" label="Run condition" type="select" options=${[
      { value: 'Success', label: 'Success: only when every previous step succeeded' },
      { value: 'Failure', label: 'Failure: only when a previous step failed' },
      { value: 'Always', label: 'Always run' },
      { value: 'Variable', label: 'Variable: when an expression is true' }]} />
    ${values.Condition === 'Variable' ? html`<${Field} form=${form} name="ConditionExpression" label="Condition expression" placeholder="#{if Octopus.Deployment.Error}true#{/if}" />` : null}
    <${Field} form=${form} name="StartTrigger" label="Start trigger" type="select" options=${[
      { value: 'StartAfterPrevious', label: 'Wait for the previous step to finish, then start' },
      { value: 'StartWithPrevious', label: 'Run in parallel with the previous step' }]} />
    <${Field} form=${form} name="IsDisabled" label="Disabled" type="checkbox" />`;
  const shown = new Set(['Name', 'Condition', 'StartTrigger',
    ...(where === 'targets' || where === 'workerForTargets' ? ['Roles', 'MaxParallelism'] : []),
    ...(where === 'worker' || where === 'workerForTargets' ? ['WorkerPoolId'] : []),
    ...(values.Condition === 'Variable' ? ['ConditionExpression'] : []),
    ...(type === SCRIPT ? ['Syntax', 'ScriptBody'] : type === MANUAL ? ['Instructions'] : type === EMAIL ? ['To', 'Subject'] : [])]);
  const unclaimed = errors.filter((e) => !shown.has(fieldOfError(e)));
  return html`<div class="step-editor form" data-kind=${kind}>
    ${parts}
    ${unclaimed.length ? html`<div class="form-error" role="alert">${unclaimed.map((e) => html`<div>${e}</div>`)}</div>` : null}
  </div>`;
}
