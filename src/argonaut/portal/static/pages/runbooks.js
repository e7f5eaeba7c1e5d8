// Runbooks: a project's runbooks, and each runbook's process, snapshots (publish), runs and schedules.
// Every rule (scopes, retention, schedules, what may run where) is the API's; these pages ask and show.
import {
  html, useState, useEffect, useCallback, useApi, useApis, Page, Loaded, Loading, useForm, Form, Field,
  Table, Pager, TaskState, Tabs, ActionButton, when, ago,
} from '../ui.js';
import { get, post, put, del, query } from '../api.js';

const TAKE = 30;
const SCOPES = [
  { value: 'All', label: 'All environments' },
  { value: 'Specified', label: 'Only the environments chosen below' },
  { value: 'FromProjectLifecycles', label: "The environments of the project's lifecycles" },
];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const FINAL = new Set(['Success', 'Failed', 'TimedOut', 'Canceled']);

// Tells the runbook page when a tab's data has loaded (or failed), for its data-ready flag.
function useTabReady(onReady, state) {
  const ready = state.data !== undefined || !!state.error;
  useEffect(() => { if (onReady) onReady(ready); }, [ready]);
}

const runbookPath = (ctx, projectId, runbookId, tab) =>
  ctx.href(`/projects/${encodeURIComponent(projectId)}/runbooks/${encodeURIComponent(runbookId)}${tab ? `?tab=${tab}` : ''}`);
const names = (environments) => Object.fromEntries((environments || []).map((e) => [e.Id, e.Name]));

// A group of labelled checkboxes (environments, days) with the server's errors for it beside it.
function CheckList({ form, name, label, options, help }) {
  const chosen = new Set(form.values[name] || []);
  const errors = form.errorsOf(name);
  const toggle = (value, on) => {
    const next = options.map((o) => o.value).filter((v) => (v === value ? on : chosen.has(v)));
    form.set(name, next);
  };
  const id = `cl-${name}`;
  return html`<fieldset class=${`field checklist ${errors.length ? 'has-error' : ''}`} aria-describedby=${errors.length ? `${id}-err` : undefined}>
    <legend>${label}</legend>
    ${options.length === 0 ? html`<p class="empty">None to choose from.</p>` : null}
    ${options.map((o) => html`<label class="check-item"><input type="checkbox" name=${name} value=${o.value}
      checked=${chosen.has(o.value)} onChange=${(e) => toggle(o.value, e.target.checked)} /> ${o.label}</label>`)}
    ${help ? html`<small class="help">${help}</small>` : null}
    ${errors.length ? html`<div id=${`${id}-err`} class="field-error" role="alert">${errors.map((e) => html`<div>${e}</div>`)}</div>` : null}
  </fieldset>`;
}

// ---- the runbook's own settings (create and edit) ------------------------------------------------

const SETTINGS_FIELDS = [
  { name: 'Name', label: 'Name', aliases: ['Please provide a Name', 'A runbook named'] },
  { name: 'Description' },
  { name: 'EnvironmentScope', label: 'Environments scope' },
  { name: 'Environments', aliases: ['EnvironmentIds'] },
  { name: 'QuantityToKeep', aliases: ['RunRetentionPolicy.QuantityToKeep', 'RunRetentionPolicy'], label: 'Runs to keep per environment' },
  { name: 'ShouldKeepForever', aliases: ['RunRetentionPolicy.ShouldKeepForever'] },
];

function settingsOf(runbook) {
  const retention = (runbook && runbook.RunRetentionPolicy) || {};
  return {
    Name: runbook ? runbook.Name : '',
    Description: runbook ? runbook.Description || '' : '',
    EnvironmentScope: runbook ? runbook.EnvironmentScope : 'All',
    Environments: runbook ? runbook.Environments || [] : [],
    QuantityToKeep: retention.QuantityToKeep ?? 100,
    ShouldKeepForever: !!retention.ShouldKeepForever,
  };
}

function settingsBody(v) {
  return {
    Name: v.Name,
    Description: v.Description,
    EnvironmentScope: v.EnvironmentScope,
    Environments: v.EnvironmentScope === 'Specified' ? v.Environments : [],
    RunRetentionPolicy: {
      QuantityToKeep: v.QuantityToKeep === '' ? 0 : v.QuantityToKeep, ShouldKeepForever: !!v.ShouldKeepForever, Unit: 'Items',
    },
  };
}

function SettingsFields({ form, environments }) {
  return html`
    <${Field} form=${form} name="Name" label="Name" required />
    <${Field} form=${form} name="Description" label="Description" type="textarea" rows=${3} />
    <${Field} form=${form} name="EnvironmentScope" label="Environments scope" type="select" options=${SCOPES}
      help="Where this runbook may run." />
    ${form.values.EnvironmentScope === 'Specified'
      ? html`<${CheckList} form=${form} name="Environments" label="Environments"
          options=${environments.map((e) => ({ value: e.Id, label: e.Name }))} />`
      : null}
    <${Field} form=${form} name="QuantityToKeep" label="Runs to keep per environment" type="number"
      help="Older runs (and their tasks) are deleted once there are more than this many." />
    <${Field} form=${form} name="ShouldKeepForever" label="Keep every run forever" type="checkbox" />`;
}

// ---- the project's runbooks --------------------------------------------------------------------

function CreateRunbook({ ctx, projectId, environments, onCancel }) {
  const form = useForm(settingsOf(null), SETTINGS_FIELDS);
  const create = async (v) => {
    const made = await post(ctx.api('/runbooks'), { ...settingsBody(v), ProjectId: projectId });
    ctx.navigate(runbookPath(ctx, projectId, made.Id, 'process'));
  };
  return html`<section class="panel" aria-labelledby="new-runbook">
    <h2 id="new-runbook">New runbook</h2>
    <${Form} form=${form} onSubmit=${create} submitLabel="Create runbook"
      extra=${html`<button type="button" onClick=${onCancel}>Cancel</button>`}>
      <${SettingsFields} form=${form} environments=${environments} />
    </${Form}>
  </section>`;
}

function RunbookList({ ctx, params, query: q }) {
  const projectId = params.projectId;
  const [skip, setSkip] = useState(Number(q.skip) || 0);
  const [adding, setAdding] = useState(q.new === '1');
  const state = useApis([
    ctx.api(`/projects/${encodeURIComponent(projectId)}`),
    ctx.api(`/projects/${encodeURIComponent(projectId)}/runbooks${query({ skip, take: TAKE })}`),
    ctx.api('/environments/all'),
  ]);
  const [project, page, environments] = state.data || [];
  const canEdit = ctx.can('RunbookEdit');
  const scopeText = (r) => {
    if (r.EnvironmentScope !== 'Specified') return (SCOPES.find((s) => s.value === r.EnvironmentScope) || {}).label;
    const n = names(environments);
    return r.Environments.map((e) => n[e] || e).join(', ') || 'None';
  };
  return html`<${Page} title="Runbooks" subtitle=${project ? project.Name : ''} ready=${!!state.data || !!state.error}
    actions=${canEdit && !adding ? html`<button type="button" class="primary" onClick=${() => setAdding(true)}>Add runbook</button>` : null}>
    ${project ? html`<p><a href=${ctx.href(`/projects/${encodeURIComponent(projectId)}`)}>← ${project.Name}</a></p>` : null}
    <${Loaded} state=${state}>${() => html`
      ${adding ? html`<${CreateRunbook} ctx=${ctx} projectId=${project.Id} environments=${environments} onCancel=${() => setAdding(false)} />` : null}
      <${Table} caption="Runbooks" empty="This project has no runbooks yet." rows=${page.Items} columns=${[
        { label: 'Name', render: (r) => html`<a href=${runbookPath(ctx, projectId, r.Id)}>${r.Name}</a>` },
        { label: 'Description', render: (r) => html`<span class="muted">${r.Description || ''}</span>` },
        { label: 'Runs in', render: scopeText },
        { label: 'Published', render: (r) => (r.PublishedRunbookSnapshotId ? html`<span class="badge ok">Published</span>` : html`<span class="badge off">Draft only</span>`) },
        { label: '', render: (r) => html`<a href=${runbookPath(ctx, projectId, r.Id, 'run')} aria-label=${`Run ${r.Name}`}>Run…</a>` },
      ]} />
      <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />`}
    </${Loaded}>
  </${Page}>`;
}

// ---- one runbook -------------------------------------------------------------------------------

const TABS = [
  { id: 'process', label: 'Process' },
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'run', label: 'Run' },
  { id: 'runs', label: 'Runs' },
  { id: 'schedules', label: 'Schedules' },
  { id: 'settings', label: 'Settings' },
];

function RunbookPage({ ctx, params, query: q }) {
  const { projectId, runbookId } = params;
  const tab = TABS.some((t) => t.id === q.tab) ? q.tab : 'process';
  const state = useApis([
    ctx.api(`/runbooks/${encodeURIComponent(runbookId)}`),
    ctx.api(`/projects/${encodeURIComponent(projectId)}`),
    ctx.api('/environments/all'),
  ]);
  const [runbook, project, environments] = state.data || [];
  const select = (id) => ctx.navigate(runbookPath(ctx, projectId, runbookId, id), { replace: true });
  // The page is ready once the runbook and the open tab's own data have loaded (the settings tab has none).
  const [tabReady, setTabReady] = useState({ settings: true });
  const onReady = useCallback((id, ready) => setTabReady((r) => (r[id] === ready ? r : { ...r, [id]: ready })), []);
  const props = { ctx, runbook, project, environments, reload: state.reload, select, onReady: (ready) => onReady(tab, ready) };
  let body = null;
  if (state.data) {
    if (tab === 'process') body = html`<${ProcessTab} ...${props} />`;
    else if (tab === 'snapshots') body = html`<${SnapshotsTab} ...${props} />`;
    else if (tab === 'run') body = html`<${RunTab} ...${props} />`;
    else if (tab === 'runs') body = html`<${RunsTab} ...${props} />`;
    else if (tab === 'schedules') body = html`<${SchedulesTab} ...${props} />`;
    else body = html`<${SettingsTab} ...${props} />`;
  }
  const published = runbook && runbook.PublishedRunbookSnapshotId;
  return html`<${Page} title=${runbook ? runbook.Name : 'Runbook'} ready=${!!state.error || (!!state.data && !!tabReady[tab])}
    subtitle=${runbook ? (published ? 'Published' : 'Not published yet: only the draft can run') : ''}>
    ${project ? html`<p><a href=${ctx.href(`/projects/${encodeURIComponent(projectId)}/runbooks`)}>← Runbooks of ${project.Name}</a></p>` : null}
    <${Loaded} state=${state}>${() => html`
      ${runbook.Description ? html`<p class="muted">${runbook.Description}</p>` : null}
      <${Tabs} tabs=${TABS} current=${tab} onSelect=${select} />
      <div role="tabpanel" aria-label=${(TABS.find((t) => t.id === tab) || {}).label}>${body}</div>`}
    </${Loaded}>
  </${Page}>`;
}

// The process editor belongs to the projects section; it is loaded when first needed so a missing or
// broken editor cannot take the rest of the portal down with it.
function ProcessTab({ ctx, runbook, onReady }) {
  const [editor, setEditor] = useState(null);
  const [failure, setFailure] = useState(null);
  useTabReady(onReady, { data: editor || undefined, error: failure });
  useEffect(() => {
    let live = true;
    import('./process_editor.js')
      .then((m) => { if (live) setEditor(() => m.ProcessEditor); })
      .catch((e) => { if (live) setFailure(e); });
    return () => { live = false; };
  }, []);
  if (failure) return html`<p class="notice">The process editor is not available: ${failure.message}</p>`;
  if (!editor) return html`<${Loading} what="Loading the process editor" />`;
  const Editor = editor;
  return html`<${Editor} ctx=${ctx} processUrl=${ctx.api(`/runbookProcesses/${encodeURIComponent(runbook.RunbookProcessId)}`)} kind="runbook" />`;
}

// ---- snapshots ---------------------------------------------------------------------------------

function SnapshotsTab({ ctx, runbook, reload, select, onReady }) {
  const [skip, setSkip] = useState(0);
  const state = useApis([
    ctx.api(`/runbooks/${runbook.Id}/runbookSnapshots${query({ skip, take: TAKE })}`),
    ctx.api(`/runbooks/${runbook.Id}/runbookSnapshotTemplate`),
  ]);
  const [page, template] = state.data || [];
  useTabReady(onReady, state);
  const canEdit = ctx.can('RunbookEdit');
  const publish = (snapshot) => put(ctx.api(`/runbooks/${runbook.Id}`), { PublishedRunbookSnapshotId: snapshot.Id });
  return html`<${Loaded} state=${state}>${() => html`
    ${canEdit ? html`<${NewSnapshot} key=${template.NextNameIncrement} ctx=${ctx} runbook=${runbook} template=${template}
      onDone=${() => { state.reload(); reload(); }} />` : null}
    <${Table} caption="Snapshots" empty="No snapshots yet: publish one to run it, or to let a schedule run it." rows=${page.Items} columns=${[
      { label: 'Name', render: (s) => html`<strong>${s.Name}</strong> ${s.Id === runbook.PublishedRunbookSnapshotId ? html`<span class="badge ok">Published</span>` : null}` },
      { label: 'Notes', render: (s) => html`<span class="muted">${s.Notes || ''}</span>` },
      { label: 'Taken', render: (s) => html`<span title=${when(s.Assembled)}>${ago(s.Assembled)}</span>` },
      { label: '', render: (s) => html`<span class="row-actions">
        ${canEdit && s.Id !== runbook.PublishedRunbookSnapshotId
          ? html`<${ActionButton} label=${`Publish ${s.Name}`} action=${() => publish(s)} onDone=${() => { state.reload(); reload(); }} />` : null}
        <a href=${runbookPath(ctx, runbook.ProjectId, runbook.Id, 'run') + `&snapshot=${encodeURIComponent(s.Id)}`}>Run…</a>
      </span>` },
    ]} />
    <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />
    <p><button type="button" class="link" onClick=${() => select('run')}>Run this runbook</button></p>`}
  </${Loaded}>`;
}

function NewSnapshot({ ctx, runbook, template, onDone }) {
  const form = useForm({ Name: template.NextNameIncrement || '', Notes: '', Publish: true }, [{ name: 'Name' }, { name: 'Notes' }]);
  const create = async (v) => {
    const body = { ProjectId: runbook.ProjectId, RunbookId: runbook.Id, Name: v.Name, Notes: v.Notes || null };
    await post(ctx.api(`/runbookSnapshots${v.Publish ? '?publish=true' : ''}`), body);
    onDone();
  };
  return html`<section class="panel" aria-labelledby="new-snapshot">
    <h2 id="new-snapshot">Take a snapshot</h2>
    <p class="muted">A snapshot freezes the process and the project's variables as they are now.</p>
    <${Form} form=${form} onSubmit=${create} submitLabel=${form.values.Publish ? 'Publish' : 'Take snapshot'}>
      <${Field} form=${form} name="Name" label="Snapshot name" />
      <${Field} form=${form} name="Notes" label="Notes" type="textarea" rows=${2} />
      <${Field} form=${form} name="Publish" label="Publish it: scheduled and default runs use this snapshot" type="checkbox" />
    </${Form}>
  </section>`;
}

// ---- run ----
// Prompted variables are the project's (the draft's); a required one without a value is refused by the
// server, whose message names the variable and so lands beside its input.-----------------------------------------------------------------------------------

const DRAFT = '(draft)';
const PUBLISHED = '(published)';

function RunTab({ ctx, runbook, project, environments, onReady }) {
  const wanted = new URLSearchParams(window.location.search).get('snapshot');
  const state = useApis([
    ctx.api(`/runbooks/${runbook.Id}/runbookSnapshots${query({ take: TAKE })}`),
    project.VariableSetId ? ctx.api(`/variables/${encodeURIComponent(project.VariableSetId)}`) : null,
  ]);
  useTabReady(onReady, state);
  return html`<${Loaded} state=${state}>${([page, variables]) => html`<${RunForm} ctx=${ctx} runbook=${runbook}
    environments=${environments} snapshots=${page.Items} variables=${variables} wanted=${wanted} />`}</${Loaded}>`;
}

function promptedOf(variables) {
  const seen = new Map();
  for (const v of (variables && variables.Variables) || []) {
    if (v.Prompt && !seen.has(v.Name)) seen.set(v.Name, v);
  }
  return [...seen.values()];
}

function RunForm({ ctx, runbook, environments, snapshots, variables, wanted }) {
  const allowed = runbook.EnvironmentScope === 'Specified'
    ? environments.filter((e) => runbook.Environments.includes(e.Id)) : environments;
  const prompted = promptedOf(variables);
  const published = snapshots.find((s) => s.Id === runbook.PublishedRunbookSnapshotId);
  const snapshotOptions = [
    ...(runbook.PublishedRunbookSnapshotId ? [{ value: PUBLISHED, label: `The published snapshot${published ? ` (${published.Name})` : ''}` }] : []),
    { value: DRAFT, label: 'The draft: the process and variables as they are now' },
    ...snapshots.filter((s) => s.Id !== runbook.PublishedRunbookSnapshotId).map((s) => ({ value: s.Id, label: `Snapshot ${s.Name}` })),
  ];
  const initialSnapshot = wanted && snapshots.some((s) => s.Id === wanted)
    ? (wanted === runbook.PublishedRunbookSnapshotId ? PUBLISHED : wanted)
    : snapshotOptions[0].value;
  const initial = {
    EnvironmentIds: allowed.length === 1 ? [allowed[0].Id] : [],
    Snapshot: initialSnapshot,
    UseGuidedFailure: false,
    ...Object.fromEntries(prompted.map((v) => [`prompt:${v.Name}`, v.IsSensitive ? '' : (v.Value || '')])),
  };
  const fields = [
    { name: 'EnvironmentIds', aliases: ['EnvironmentId', 'Environments', 'The runbook', 'Please name the environment'], label: 'Environments' },
    { name: 'Snapshot', aliases: ['RunbookSnapshotNameOrId', 'RunbookSnapshotId', 'Runbook has no published', 'Snapshot'] },
    ...prompted.map((v) => ({ name: `prompt:${v.Name}`, aliases: [v.Name], label: (v.Prompt.Label || v.Name) })),
  ];
  const form = useForm(initial, fields);
  const run = async (v) => {
    const formValues = {};
    for (const p of prompted) {
      const value = v[`prompt:${p.Name}`];
      if (value !== '' && value !== undefined) formValues[p.Name] = String(value);
    }
    const body = {
      EnvironmentIds: v.EnvironmentIds,
      UseDefaultSnapshot: v.Snapshot === PUBLISHED,
      RunbookSnapshotNameOrId: v.Snapshot === PUBLISHED || v.Snapshot === DRAFT ? null : v.Snapshot,
      FormValues: formValues,
      UseGuidedFailure: !!v.UseGuidedFailure,
    };
    const runs = await post(ctx.api(`/runbooks/${runbook.Id}/run`), body);
    if (runs.length === 1 && runs[0].TaskId) ctx.navigate(ctx.href(`/tasks/${runs[0].TaskId}`));
    else ctx.navigate(runbookPath(ctx, runbook.ProjectId, runbook.Id, 'runs'));
  };
  if (!ctx.can('RunbookRunCreate')) return html`<p class="notice">You may not run this runbook here.</p>`;
  return html`<section class="panel" aria-labelledby="run-runbook">
    <h2 id="run-runbook">Run ${runbook.Name}</h2>
    <${Form} form=${form} onSubmit=${run} submitLabel="Run">
      <${CheckList} form=${form} name="EnvironmentIds" label="Environments"
        options=${allowed.map((e) => ({ value: e.Id, label: e.Name }))}
        help=${allowed.length ? 'One run starts in each environment chosen.' : 'No environment is in this runbook\'s scope.'} />
      <${Field} form=${form} name="Snapshot" label="What to run" type="select" options=${snapshotOptions} />
      ${prompted.length ? html`<h3>Prompted variables</h3>` : null}
      ${prompted.map((p) => html`<${Field} form=${form} name=${`prompt:${p.Name}`} label=${p.Prompt.Label || p.Name}
        help=${p.Prompt.Description || undefined} required=${!!p.Prompt.Required}
        type=${p.IsSensitive || p.Type === 'Sensitive' ? 'password' : 'text'} />`)}
      <${Field} form=${form} name="UseGuidedFailure" label="Use guided failure: ask a person when a step fails" type="checkbox" />
    </${Form}>
  </section>`;
}

// ---- runs --------------------------------------------------------------------------------------

// One page of runs with their tasks' states and snapshots' names; polled while a run is unfinished.
function useRuns(ctx, runbook, skip) {
  const [state, setState] = useState({ data: undefined, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer;
    (async () => {
      const page = await get(ctx.api(`/runbookRuns${query({ runbooks: runbook.Id, skip, take: TAKE })}`));
      const taskIds = page.Items.map((r) => r.TaskId).filter(Boolean);
      const snapshotIds = [...new Set(page.Items.map((r) => r.RunbookSnapshotId))];
      const [tasks, snapshots] = await Promise.all([
        taskIds.length ? get(ctx.api(`/tasks${query({ ids: taskIds.join(','), take: TAKE })}`)) : { Items: [] },
        snapshotIds.length ? get(ctx.api(`/runbookSnapshots${query({ ids: snapshotIds.join(','), take: TAKE })}`)) : { Items: [] },
      ]);
      return { page, tasks: tasks.Items, snapshots: snapshots.Items };
    })().then((data) => {
      if (!live) return;
      setState({ data, error: null });
      if (data.tasks.some((t) => !FINAL.has(t.State))) timer = setTimeout(() => live && setTick((t) => t + 1), 2000);
    }).catch((error) => { if (live) setState({ data: undefined, error }); });
    return () => { live = false; clearTimeout(timer); };
  }, [runbook.Id, skip, tick]);
  return state;
}

function RunsTab({ ctx, runbook, environments, onReady }) {
  const [skip, setSkip] = useState(0);
  const state = useRuns(ctx, runbook, skip);
  useTabReady(onReady, state);
  const environmentName = names(environments);
  return html`<${Loaded} state=${state}>${({ page, tasks, snapshots }) => {
    const taskOf = Object.fromEntries(tasks.map((t) => [t.Id, t]));
    const snapshotName = Object.fromEntries(snapshots.map((s) => [s.Id, s.Name]));
    return html`
    <${Table} caption="Runs, newest first" empty="This runbook has not run yet." rows=${page.Items} columns=${[
      { label: 'Run', render: (r) => (r.TaskId ? html`<a href=${ctx.href(`/tasks/${r.TaskId}`)}>${r.Name}</a>` : r.Name) },
      { label: 'Environment', render: (r) => environmentName[r.EnvironmentId] || r.EnvironmentId },
      { label: 'Snapshot', render: (r) => snapshotName[r.RunbookSnapshotId] || r.RunbookSnapshotId },
      { label: 'State', render: (r) => { const t = taskOf[r.TaskId]; return t ? html`<${TaskState} state=${t.State} pending=${t.HasPendingInterruptions} />` : html`<span class="muted">unknown</span>`; } },
      { label: 'Started', render: (r) => html`<span title=${when(r.Created)}>${ago(r.Created)}</span>` },
      { label: 'By', key: 'DeployedBy' },
    ]} />
    <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />`;
  }}</${Loaded}>`;
}

// ---- schedules (project triggers that run this runbook) -----------------------------------------

const FILTER_TYPES = [
  { value: 'OnceDailySchedule', label: 'Once a day' },
  { value: 'ContinuousDailySchedule', label: 'Repeatedly during the day' },
  { value: 'DaysPerMonthSchedule', label: 'Days of the month' },
  { value: 'CronExpressionSchedule', label: 'Cron expression' },
];
const FILTER_FIELDS = ['Timezone', 'CronExpression', 'StartTime', 'DaysOfWeek', 'RunAfter', 'RunUntil', 'Interval',
  'HourInterval', 'MinuteInterval', 'MonthlyScheduleType', 'DateOfMonth', 'DayNumberOfMonth', 'DayOfWeek'];
const BY_TYPE = {
  OnceDailySchedule: ['StartTime', 'DaysOfWeek'],
  ContinuousDailySchedule: ['RunAfter', 'RunUntil', 'Interval', 'DaysOfWeek'],
  DaysPerMonthSchedule: ['StartTime', 'MonthlyScheduleType'],
  CronExpressionSchedule: ['CronExpression'],
};
const LABELS = {
  FilterType: 'Schedule', Timezone: 'Time zone', CronExpression: 'Cron expression', StartTime: 'Start time',
  DaysOfWeek: 'Days of the week', RunAfter: 'From', RunUntil: 'Until', Interval: 'Interval', HourInterval: 'Every how many hours',
  MinuteInterval: 'Every how many minutes', MonthlyScheduleType: 'Day of the month by', DateOfMonth: 'Date of the month',
  DayNumberOfMonth: 'Which one', DayOfWeek: 'Day of the week',
};
const SCHEDULE_FIELDS = [
  { name: 'Name', label: 'Name', aliases: ['Please provide a Name', 'A trigger named'] },
  { name: 'Description' },
  { name: 'EnvironmentIds', aliases: ['Action.EnvironmentIds', 'Action'], label: 'Environments' },
  { name: 'FilterType', aliases: ['Filter.FilterType', 'Filter'], label: 'Schedule' },
  ...FILTER_FIELDS.map((f) => ({ name: f, aliases: [`Filter.${f}`], label: LABELS[f] })),
];

// "2024-03-22T09:00:00" or "09:00:00" as the "HH:MM" a time input shows.
const timeOfDay = (text) => {
  if (!text) return '';
  const t = String(text).includes('T') ? String(text).split('T')[1] : String(text);
  return t.slice(0, 5);
};

function scheduleValues(trigger, runbook) {
  const f = (trigger && trigger.Filter) || {};
  const defaultZone = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (_) { return 'UTC'; } })();
  return {
    Name: trigger ? trigger.Name : '',
    Description: trigger ? trigger.Description || '' : '',
    IsDisabled: trigger ? !!trigger.IsDisabled : false,
    EnvironmentIds: trigger ? (trigger.Action || {}).EnvironmentIds || [] : (runbook.EnvironmentScope === 'Specified' && runbook.Environments.length === 1 ? [...runbook.Environments] : []),
    FilterType: f.FilterType || 'OnceDailySchedule',
    Timezone: f.Timezone || (trigger ? 'UTC' : defaultZone),
    CronExpression: f.CronExpression || '',
    StartTime: timeOfDay(f.StartTime) || '09:00',
    DaysOfWeek: f.DaysOfWeek || WEEKDAYS.slice(0, 5),
    RunAfter: timeOfDay(f.RunAfter) || '09:00',
    RunUntil: timeOfDay(f.RunUntil) || '17:00',
    Interval: f.Interval || 'OnceHourly',
    HourInterval: f.HourInterval ?? 1,
    MinuteInterval: f.MinuteInterval ?? 10,
    MonthlyScheduleType: f.MonthlyScheduleType || 'DateOfMonth',
    DateOfMonth: f.DateOfMonth ?? '1',
    DayNumberOfMonth: f.DayNumberOfMonth ?? '1',
    DayOfWeek: f.DayOfWeek || 'Monday',
  };
}

function filterOf(v) {
  const filter = { FilterType: v.FilterType, Timezone: v.Timezone };
  for (const name of BY_TYPE[v.FilterType] || []) filter[name] = v[name];
  if (v.FilterType === 'ContinuousDailySchedule') {
    if (v.Interval === 'OnceHourly') filter.HourInterval = v.HourInterval;
    if (v.Interval === 'OnceEveryMinute') filter.MinuteInterval = v.MinuteInterval;
  }
  if (v.FilterType === 'DaysPerMonthSchedule') {
    if (v.MonthlyScheduleType === 'DateOfMonth') filter.DateOfMonth = String(v.DateOfMonth);
    else { filter.DayNumberOfMonth = String(v.DayNumberOfMonth); filter.DayOfWeek = v.DayOfWeek; }
  }
  return filter;
}

const short = (days) => (days || []).map((d) => String(d).slice(0, 3)).join(', ');
function describe(filter) {
  const f = filter || {};
  const zone = f.Timezone ? ` (${f.Timezone})` : '';
  switch (f.FilterType) {
    case 'CronExpressionSchedule': return `Cron ${f.CronExpression}${zone}`;
    case 'OnceDailySchedule': return `At ${timeOfDay(f.StartTime)} on ${short(f.DaysOfWeek)}${zone}`;
    case 'ContinuousDailySchedule': {
      const every = f.Interval === 'OnceDaily' ? 'Once' : f.Interval === 'OnceEveryMinute' ? `Every ${f.MinuteInterval || 1} min` : `Every ${f.HourInterval || 1} h`;
      return `${every} from ${timeOfDay(f.RunAfter)} to ${timeOfDay(f.RunUntil)} on ${short(f.DaysOfWeek)}${zone}`;
    }
    case 'DaysPerMonthSchedule': {
      const which = f.MonthlyScheduleType === 'DateOfMonth'
        ? (String(f.DateOfMonth).toUpperCase() === 'L' ? 'the last day' : `day ${f.DateOfMonth}`)
        : `the ${String(f.DayNumberOfMonth).toUpperCase() === 'L' ? 'last' : ['', '1st', '2nd', '3rd', '4th'][Number(f.DayNumberOfMonth)] || f.DayNumberOfMonth} ${f.DayOfWeek}`;
      return `Monthly on ${which} at ${timeOfDay(f.StartTime)}${zone}`;
    }
    default: return f.FilterType || '';
  }
}

function ScheduleForm({ ctx, runbook, environments, trigger, onDone, onCancel }) {
  const form = useForm(scheduleValues(trigger, runbook), SCHEDULE_FIELDS);
  const v = form.values;
  const allowed = runbook.EnvironmentScope === 'Specified'
    ? environments.filter((e) => runbook.Environments.includes(e.Id)) : environments;
  const save = async (values) => {
    const body = {
      Name: values.Name,
      Description: values.Description,
      ProjectId: runbook.ProjectId,
      IsDisabled: !!values.IsDisabled,
      Filter: filterOf(values),
      Action: { ActionType: 'RunRunbook', RunbookId: runbook.Id, EnvironmentIds: values.EnvironmentIds },
    };
    if (trigger) await put(ctx.api(`/projecttriggers/${trigger.Id}`), body);
    else await post(ctx.api('/projecttriggers'), body);
    onDone();
  };
  const shown = new Set(BY_TYPE[v.FilterType] || []);
  const heading = trigger ? `Edit schedule ${trigger.Name}` : 'New schedule';
  return html`<section class="panel" aria-labelledby="schedule-form">
    <h2 id="schedule-form">${heading}</h2>
    <p class="muted">A schedule runs the published snapshot in each environment chosen.</p>
    <${Form} form=${form} onSubmit=${save} submitLabel=${trigger ? 'Save schedule' : 'Create schedule'}
      extra=${html`<button type="button" onClick=${onCancel}>Cancel</button>`}>
      <${Field} form=${form} name="Name" label="Name" required />
      <${Field} form=${form} name="Description" label="Description" />
      <${CheckList} form=${form} name="EnvironmentIds" label="Environments"
        options=${allowed.map((e) => ({ value: e.Id, label: e.Name }))} />
      <${Field} form=${form} name="FilterType" label="Schedule" type="select" options=${FILTER_TYPES} />
      ${shown.has('CronExpression') ? html`<${Field} form=${form} name="CronExpression" label="Cron expression"
        placeholder="0 0 6 * * Mon-Fri" help="Seconds minutes hours day-of-month month day-of-week, or the classic five fields." />` : null}
      ${shown.has('StartTime') ? html`<${Field} form=${form} name="StartTime" label="Start time" type="time" />` : null}
      ${shown.has('RunAfter') ? html`<div class="row">
        <${Field} form=${form} name="RunAfter" label="From" type="time" />
        <${Field} form=${form} name="RunUntil" label="Until" type="time" />
      </div>
      <${Field} form=${form} name="Interval" label="Interval" type="select" options=${[
        { value: 'OnceHourly', label: 'Every few hours' }, { value: 'OnceEveryMinute', label: 'Every few minutes' }, { value: 'OnceDaily', label: 'Once' }]} />
      ${v.Interval === 'OnceHourly' ? html`<${Field} form=${form} name="HourInterval" label="Every how many hours" type="number" />` : null}
      ${v.Interval === 'OnceEveryMinute' ? html`<${Field} form=${form} name="MinuteInterval" label="Every how many minutes" type="number" />` : null}` : null}
      ${shown.has('DaysOfWeek') ? html`<${CheckList} form=${form} name="DaysOfWeek" label="Days of the week"
        options=${WEEKDAYS.map((d) => ({ value: d, label: d }))} />` : null}
      ${shown.has('MonthlyScheduleType') ? html`
        <${Field} form=${form} name="MonthlyScheduleType" label="Day of the month by" type="select" options=${[
          { value: 'DateOfMonth', label: 'Date (the 1st, the 15th, the last)' }, { value: 'DayOfMonth', label: 'Weekday (the 2nd Tuesday)' }]} />
        ${v.MonthlyScheduleType === 'DateOfMonth'
          ? html`<${Field} form=${form} name="DateOfMonth" label="Date of the month" help="1 to 31, or L for the last day." />`
          : html`<div class="row">
            <${Field} form=${form} name="DayNumberOfMonth" label="Which one" type="select" options=${[
              { value: '1', label: 'First' }, { value: '2', label: 'Second' }, { value: '3', label: 'Third' }, { value: '4', label: 'Fourth' }, { value: 'L', label: 'Last' }]} />
            <${Field} form=${form} name="DayOfWeek" label="Day of the week" type="select" options=${WEEKDAYS} />
          </div>`}` : null}
      <${Field} form=${form} name="Timezone" label="Time zone" help="An IANA name such as Europe/London; UTC if blank." />
      <${Field} form=${form} name="IsDisabled" label="Disabled: do not run on this schedule" type="checkbox" />
    </${Form}>
  </section>`;
}

function SchedulesTab({ ctx, runbook, environments, onReady }) {
  const [skip, setSkip] = useState(0);
  const [editing, setEditing] = useState(null); // null, 'new', or a trigger
  const state = useApi(ctx.api(`/projecttriggers${query({ runbooks: runbook.Id, skip, take: TAKE })}`));
  useTabReady(onReady, state);
  const environmentName = names(environments);
  const canCreate = ctx.can('TriggerCreate');
  const canEdit = ctx.can('TriggerEdit');
  const canDelete = ctx.can('TriggerDelete');
  const done = () => { setEditing(null); state.reload(); };
  return html`<div>
    ${!runbook.PublishedRunbookSnapshotId ? html`<p class="notice">Schedules run the published snapshot: publish one on the Snapshots tab, or scheduled runs will not start.</p>` : null}
    ${editing ? html`<${ScheduleForm} key=${editing === 'new' ? 'new' : editing.Id} ctx=${ctx} runbook=${runbook} environments=${environments}
      trigger=${editing === 'new' ? null : editing} onDone=${done} onCancel=${() => setEditing(null)} />`
      : (canCreate ? html`<p><button type="button" class="primary" onClick=${() => setEditing('new')}>Add schedule</button></p>` : null)}
    <${Loaded} state=${state}>${(page) => html`
      <${Table} caption="Schedules" empty="No schedule runs this runbook." rows=${page.Items} columns=${[
        { label: 'Name', render: (t) => html`<strong>${t.Name}</strong>${t.Description ? html`<div class="muted">${t.Description}</div>` : null}` },
        { label: 'When', render: (t) => describe(t.Filter) },
        { label: 'Environments', render: (t) => ((t.Action || {}).EnvironmentIds || []).map((e) => environmentName[e] || e).join(', ') },
        { label: 'Next run', render: (t) => (t.IsDisabled ? html`<span class="badge off">Disabled</span>` : (t.NextRun ? html`<time datetime=${t.NextRun}>${when(t.NextRun)}</time>` : html`<span class="muted">never</span>`)) },
        { label: 'Last run', render: (t) => (t.LastRun ? html`<time datetime=${t.LastRun}>${when(t.LastRun)}</time>` : html`<span class="muted">not yet</span>`) },
        { label: '', render: (t) => html`<span class="row-actions">
          ${canEdit ? html`<button type="button" onClick=${() => setEditing(t)} aria-label=${`Edit ${t.Name}`}>Edit</button>` : null}
          ${canDelete ? html`<${ActionButton} label="Delete" className="danger" confirmText=${`Delete the schedule '${t.Name}'?`}
            action=${() => del(ctx.api(`/projecttriggers/${t.Id}`))} onDone=${done} />` : null}
        </span>` },
      ]} />
      <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />`}
    </${Loaded}>
  </div>`;
}

// ---- settings ----------------------------------------------------------------------------------

function SettingsTab({ ctx, runbook, environments, reload }) {
  const form = useForm(settingsOf(runbook), SETTINGS_FIELDS);
  const [saved, setSaved] = useState(false);
  const canEdit = ctx.can('RunbookEdit');
  const save = async (v) => { setSaved(false); await put(ctx.api(`/runbooks/${runbook.Id}`), settingsBody(v)); setSaved(true); reload(); };
  if (!canEdit) return html`<p class="muted">You may not change this runbook.</p>`;
  return html`<section class="panel" aria-labelledby="runbook-settings">
    <h2 id="runbook-settings">Settings</h2>
    <${Form} form=${form} onSubmit=${save} submitLabel="Save" extra=${saved ? html`<span role="status">Saved.</span>` : null}>
      <${SettingsFields} form=${form} environments=${environments} />
    </${Form}>
    <h2>Delete</h2>
    <p class="muted">Deleting a runbook deletes its process, snapshots and runs; their tasks stay.</p>
    <${ActionButton} label="Delete this runbook" className="danger" confirmText=${`Delete the runbook '${runbook.Name}'?`}
      action=${() => del(ctx.api(`/runbooks/${runbook.Id}`))}
      onDone=${() => ctx.navigate(ctx.href(`/projects/${encodeURIComponent(runbook.ProjectId)}/runbooks`))} />
  </section>`;
}

export const routes = [
  { path: '/:space/projects/:projectId/runbooks', view: RunbookList },
  { path: '/:space/projects/:projectId/runbooks/:runbookId', view: RunbookPage },
];
export const nav = [];
