// Tasks: the filterable task list, a task's page (state, why it waits, the activity tree, its log as it
// is written, cancel, interruptions to answer, output variables, artifacts) and the script console.
// Everything comes from the API: /tasks (with PendingReason), /tasks/{id}/details, the NDJSON stream,
// /interruptions, /artifacts and /events. No rule lives here.
import {
  html, useState, useEffect, useRef, Page, Loaded, Failure, useApi, useApis, useForm, Form, Field, Table,
  Pager, TaskState, ActionButton, when,
} from '../ui.js';
import { post, put, streamLines, query, ApiFailure } from '../api.js';

const TAKE = 30;
const SHOWN_LINES = 5000; // a log can hold millions of lines: the page keeps the newest, Raw has all
const POLL_MS = 2000;

const STATES = [
  { value: '', label: 'Any state' },
  { value: 'Queued,Executing,Cancelling', label: 'Not finished' },
  { value: 'Queued', label: 'Queued' },
  { value: 'Executing', label: 'Executing' },
  { value: 'Cancelling', label: 'Cancelling' },
  { value: 'Success', label: 'Success' },
  { value: 'Failed', label: 'Failed' },
  { value: 'Canceled', label: 'Canceled' },
  { value: 'TimedOut', label: 'Timed out' },
];
const TYPES = [
  { value: '', label: 'Any type' },
  { value: 'AdHocScript', label: 'Script' },
  { value: 'Deploy', label: 'Deployment' },
  { value: 'RunbookRun', label: 'Runbook run' },
  { value: 'Health', label: 'Health check' },
  { value: 'UpdateCalamari', label: 'Runner update' },
];
const TYPE_TEXT = Object.fromEntries(TYPES.filter((t) => t.value).map((t) => [t.value, t.label]));
const FINISHED = new Set(['Success', 'Failed', 'Canceled', 'TimedOut']);

function Reason({ task }) {
  if (!task.PendingReason) return null;
  return html`<div class="pending-reason muted">${task.PendingReason}</div>`;
}

// ---- the list ------------------------------------------------------------------------------------

function TaskList({ ctx, query: q }) {
  const skip = Number(q.skip || 0);
  const filters = { states: q.states || '', name: q.name || '', project: q.project || '', environment: q.environment || '' };
  const path = ctx.api(`/tasks${query({ skip, take: TAKE, ...filters })}`);
  const page = useApi(path, { every: 5000 });
  const lists = useApis([ctx.api('/projects?take=100'), ctx.api('/environments?take=100')]);
  const go = (changes) => ctx.navigate(`/${ctx.space}/tasks${query({ ...filters, skip, ...changes })}`, { replace: true });
  const [projects, environments] = lists.data || [null, null];
  const options = (res, any) => [{ value: '', label: any }, ...((res && res.Items) || []).map((r) => ({ value: r.Id, label: r.Name }))];
  const actions = ctx.can('TaskCreate') ? html`<a class="button primary" href=${ctx.href('/tasks/script')}>Run a script</a>` : null;
  return html`<${Page} title="Tasks" subtitle="Deployments, runbook runs, scripts and health checks, newest first"
      actions=${actions} ready=${page.data !== undefined || !!page.error}>
    <div class="filters" role="search" aria-label="Filter tasks">
      <${Field} name="states" label="State" type="select" options=${STATES} value=${filters.states} onInput=${(v) => go({ states: v, skip: 0 })} />
      <${Field} name="name" label="Task type" type="select" options=${TYPES} value=${filters.name} onInput=${(v) => go({ name: v, skip: 0 })} />
      <${Field} name="project" label="Project" type="select" options=${options(projects, 'Any project')} value=${filters.project} onInput=${(v) => go({ project: v, skip: 0 })} />
      <${Field} name="environment" label="Environment" type="select" options=${options(environments, 'Any environment')} value=${filters.environment} onInput=${(v) => go({ environment: v, skip: 0 })} />
    </div>
    <${Loaded} state=${page}>${(p) => html`
      <${Table} caption="Tasks" rows=${p.Items} empty="No tasks match these filters." columns=${[
        { label: 'Task', render: (t) => html`<a href=${ctx.href(`/tasks/${t.Id}`)}>${t.Description}</a><div class="muted mono">${t.Id}</div>` },
        { label: 'Type', render: (t) => TYPE_TEXT[t.Name] || t.Name },
        { label: 'State', render: (t) => html`<${TaskState} state=${t.State} pending=${t.HasPendingInterruptions} /><${Reason} task=${t} />` },
        { label: 'Queued', render: (t) => when(t.QueueTime) },
        { label: 'Duration', render: (t) => t.Duration || '' },
      ]} />
      <${Pager} page=${p} skip=${skip} onSkip=${(s) => go({ skip: s })} />`}
    </${Loaded}>
  </${Page}>`;
}

// ---- one task ------------------------------------------------------------------------------------

// The log as it is written: the stream sends every stored line, then live ones, then the finished task.
function useLiveLog(taskId, onFinished) {
  const [lines, setLines] = useState([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState(null);
  const [ended, setEnded] = useState(false);
  const finished = useRef(onFinished);
  finished.current = onFinished;
  useEffect(() => {
    const controller = new AbortController();
    let buffer = [];
    let count = 0;
    let timer = null;
    const flush = () => {
      timer = null;
      const add = buffer;
      buffer = [];
      setTotal(count);
      setLines((old) => {
        const all = old.concat(add);
        return all.length > SHOWN_LINES ? all.slice(all.length - SHOWN_LINES) : all;
      });
    };
    streamLines(`/api/tasks/${taskId}/stream`, (item) => {
      if (item.Type === 'Log') {
        buffer.push(item);
        count += 1;
        if (!timer) timer = setTimeout(flush, 50);
      } else if (item.Type === 'Task') {
        finished.current(item.Task);
      }
    }, controller.signal)
      .then(() => { flush(); setEnded(true); })
      .catch((e) => { if (e.name !== 'AbortError') setError(e instanceof ApiFailure ? e : new ApiFailure(0, String(e.message || e))); });
    return () => { controller.abort(); clearTimeout(timer); };
  }, [taskId]);
  return { lines, total, error, ended };
}

function clock(iso) {
  return iso ? iso.slice(11, 19) : '';
}

function LogView({ log, names }) {
  const box = useRef(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [log.lines]);
  const onScroll = (e) => {
    const el = e.currentTarget;
    stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 30;
  };
  const hidden = log.total - log.lines.length;
  return html`<div>
    ${log.error ? html`<${Failure} error=${log.error} />` : null}
    ${hidden > 0 ? html`<p class="muted">Showing the newest ${log.lines.length} of ${log.total} lines.</p>` : null}
    <div class="log" role="log" aria-label="Task log" aria-live="polite" tabindex="0" ref=${box} onScroll=${onScroll}>
      ${log.lines.length === 0 ? html`<div class="muted">${log.ended ? 'No log lines.' : 'Waiting for log lines…'}</div>` : null}
      ${log.lines.map((l) => html`<div class=${`line ${l.Category}`} key=${l.Number}>
        <span class="time">${clock(l.OccurredAt)}</span><span title=${names[l.ActivityId] || ''}>${l.MessageText}</span></div>`)}
    </div>
  </div>`;
}

const STATUS_CLASS = { Success: 'ok', Failed: 'bad', Canceled: 'off', Running: 'run', Pending: 'wait', Skipped: 'off', SuccessWithWarning: 'warn' };
function ActivityTree({ activities }) {
  if (!activities || !activities.length) return null;
  return html`<ul class="tree">${activities.map((a) => html`<li key=${a.Id}>
    <span class=${`badge ${STATUS_CLASS[a.Status] || 'off'}`}>${a.Status}</span> ${a.Name}
    <${ActivityTree} activities=${a.Children} />
  </li>`)}</ul>`;
}

function flatNames(activities, out = {}) {
  for (const a of activities || []) { out[a.Id] = a.Name; flatNames(a.Children, out); }
  return out;
}

function answerOf(interruption) {
  const element = (interruption.Form.Elements || []).find((e) => e.Control && e.Control.Type === 'SubmitButtonGroup');
  return element ? { name: element.Name, buttons: element.Control.Buttons || [] } : { name: 'Result', buttons: [] };
}

// One pending interruption: take responsibility, then answer it with notes (Proceed/Abort, or guidance).
function Interruption({ interruption, onDone }) {
  const form = useForm({ Notes: '' }, [{ name: 'Notes', label: 'Notes' }]);
  const answer = answerOf(interruption);
  const paragraph = (interruption.Form.Elements || []).find((e) => e.Control && e.Control.Type === 'Paragraph');
  const submit = (value) => form.submit(async (v) => {
    await post(interruption.Links.Submit, { Notes: v.Notes || null, [answer.name]: value });
    onDone();
  });
  const kind = interruption.Type === 'GuidedFailure' ? 'A step failed' : 'Manual intervention';
  return html`<section class="panel interruption" aria-label=${`Interruption ${interruption.Title}`}>
    <h3>${kind}: ${interruption.Title}</h3>
    ${paragraph ? html`<p class="instructions">${paragraph.Control.Text}</p>` : null}
    ${interruption.HasResponsibility ? html`
      <form class="form" onSubmit=${(e) => e.preventDefault()}>
        <${Field} form=${form} name="Notes" label="Notes" type="textarea" rows="3" />
        <div class="form-actions">
          ${answer.buttons.map((b) => html`<button type="button" class=${b.Value === 'Abort' || b.Value === 'Fail' ? 'danger' : 'primary'}
            disabled=${form.busy} onClick=${() => submit(b.Value)}>${b.Text}</button>`)}
          ${form.unclaimed().length ? html`<div class="form-error" role="alert">${form.unclaimed().map((e) => html`<div>${e}</div>`)}</div>` : null}
        </div>
      </form>` : html`
      <p class="muted">${interruption.ResponsibleUserId ? 'Someone else is responsible for this interruption.' : 'Nobody has taken responsibility yet.'}</p>
      ${interruption.CanTakeResponsibility
        ? html`<${ActionButton} label="Take responsibility" className="primary" action=${() => put(interruption.Links.Responsible)} onDone=${onDone} />`
        : html`<p class="muted">You may not answer it.</p>`}`}
  </section>`;
}

function Interruptions({ ctx, task, done }) {
  const path = done || !task.HasPendingInterruptions ? null : ctx.api(`/interruptions${query({ regarding: task.Id, pendingOnly: 'true', take: 10 })}`);
  const state = useApi(path, { every: POLL_MS });
  if (!path || !state.data || !state.data.Items.length) return null;
  return html`<h2>Waiting for you</h2>
    ${state.data.Items.map((i) => html`<${Interruption} key=${`${i.Id}-${i.HasResponsibility}`} interruption=${i} onDone=${state.reload} />`)}`;
}

// Artifacts are stored as the task completes: a task seen running reads them again once it has ended.
function Artifacts({ ctx, task, done }) {
  const state = useApi(ctx.api(`/artifacts${query({ regarding: task.Id, take: 100, ended: done ? 'true' : undefined })}`));
  if (state.error || !state.data || !state.data.Items.length) return null;
  return html`<h2>Artifacts</h2>
    <ul>${state.data.Items.map((a) => html`<li key=${a.Id}>
      <a href=${ctx.api(`/artifacts/${a.Id}/content`)} download=${a.Filename}>${a.Filename}</a>
      <span class="muted"> ${a.Length != null ? `${a.Length} bytes` : ''}</span></li>`)}</ul>`;
}

function OutputVariables({ variables }) {
  if (!variables || !variables.length) return null;
  return html`<${Table} caption="Output variables" rowKey=${(v) => `${v.Action || ''}/${v.Machine || ''}/${v.Name}`} rows=${variables} columns=${[
      { label: 'Name', render: (v) => html`<span class="mono">${v.Name}</span>` },
      { label: 'Value', render: (v) => html`<span class="mono">${v.Value}</span>` },
      { label: 'Step', render: (v) => v.Action || '' },
      { label: 'Machine', render: (v) => v.Machine || '' },
    ]} />`;
}

function QueuedBy({ ctx, taskId }) {
  const state = useApi(ctx.can('EventView') ? ctx.api(`/events${query({ regarding: taskId, take: 50 })}`) : null);
  const items = (state.data && state.data.Items) || [];
  const first = items[items.length - 1];
  return first ? html`${first.Username}` : html`<span class="muted">the server</span>`;
}

function TaskView({ ctx, params }) {
  const id = params.id;
  const [final, setFinal] = useState(null);
  // Both load at once; while the task runs, both are read again every POLL_MS (the log is live anyway).
  const polled = useApi(`/api/tasks/${id}`);
  const details = useApi(`/api/tasks/${id}/details?tail=0`);
  const task = final || polled.data;
  const done = !!task && FINISHED.has(task.State);
  const running = !!task && !done;
  const { reload: reloadTask } = polled;
  const { reload: reloadDetails } = details;
  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(() => { reloadTask(); reloadDetails(); }, POLL_MS);
    return () => clearInterval(timer);
  }, [running]);
  // The finished task comes at the end of the stream: read the tree (with the output variables) again
  // if what is shown was read before the end.
  const log = useLiveLog(id, setFinal);
  const detailsRunning = !!details.data && !FINISHED.has(details.data.Task.State);
  useEffect(() => { if (final && detailsRunning) reloadDetails(); }, [final, detailsRunning]);
  // The first line says the task has started: show it now rather than at the next poll.
  const started = log.total > 0;
  useEffect(() => { if (started && !final) { reloadTask(); reloadDetails(); } }, [started]);
  const names = flatNames(details.data && details.data.ActivityLogs);
  if (polled.error && !task) {
    return html`<${Page} title="Task" ready=${true}><${Failure} error=${polled.error} /></${Page}>`;
  }
  const ready = !!task; // the task is the page's main data; its tree and log fill in as they come
  const canCancel = task && !done && task.State !== 'Cancelling' && ctx.can('TaskCancel');
  const actions = task ? html`
    ${canCancel ? html`<${ActionButton} label="Cancel task" busyLabel="Cancelling…" className="danger"
      action=${() => post(`/api/tasks/${id}/cancel`)} onDone=${(t) => { if (t && FINISHED.has(t.State)) setFinal(t); polled.reload(); }} />` : null}
    <a class="button" href=${`/api/tasks/${id}/raw`} download=${`${id}.log`}>Download log</a>` : null;
  return html`<${Page} title=${task ? task.Description : id} subtitle=${id} actions=${actions} ready=${ready}>
    ${!task ? html`<p class="loading" role="status">Loading…</p>` : html`
      <dl class="kv task-facts">
        <dt>State</dt><dd><${TaskState} state=${task.State} pending=${task.HasPendingInterruptions} /></dd>
        ${task.PendingReason ? html`<dt>Waiting because</dt><dd class="pending-reason" role="status">${task.PendingReason}</dd>` : null}
        <dt>Queued by</dt><dd><${QueuedBy} ctx=${ctx} taskId=${id} /></dd>
        <dt>Queued</dt><dd>${when(task.QueueTime)}</dd>
        ${task.StartTime ? html`<dt>Started</dt><dd>${when(task.StartTime)}</dd>` : null}
        ${task.CompletedTime ? html`<dt>Completed</dt><dd>${when(task.CompletedTime)}</dd>` : null}
        <dt>Duration</dt><dd>${task.Duration || 'not started'}</dd>
        ${task.ServerNode ? html`<dt>Server node</dt><dd>${task.ServerNode}</dd>` : null}
      </dl>
      ${task.ErrorMessage ? html`<div class="failure" role="alert"><strong>${task.ErrorMessage}</strong></div>` : null}
      <${Interruptions} ctx=${ctx} task=${task} done=${done} />
      <div class="row">
        <section aria-label="Activity">
          <h2>Activity</h2>
          <${Loaded} state=${details}>${(d) => html`<${ActivityTree} activities=${d.ActivityLogs} />`}</${Loaded}>
        </section>
      </div>
      <h2>Log</h2>
      <${LogView} log=${log} names=${names} />
      ${done && details.data ? html`<${OutputVariables} variables=${details.data.OutputVariables} />` : null}
      <${Artifacts} ctx=${ctx} task=${task} done=${done} />`}
  </${Page}>`;
}

// ---- script console ------------------------------------------------------------------------------

const SCRIPT_FIELDS = [
  { name: 'ScriptBody', label: 'Script', aliases: ['Arguments.ScriptBody'] },
  { name: 'Syntax', label: 'Syntax', aliases: ['Arguments.Syntax'] },
  { name: 'TargetType', label: 'Run on', aliases: ['Arguments.TargetType'] },
  { name: 'WorkerPoolId', label: 'Worker pool', aliases: ['Arguments.WorkerPoolIds'] },
  { name: 'Description', label: 'Description' },
];

function ScriptConsole({ ctx }) {
  const pools = useApi(ctx.api('/workerpools?take=100'));
  const form = useForm({ Description: '', Syntax: 'Bash', TargetType: 'WorkerPools', WorkerPoolId: '', ScriptBody: '' }, SCRIPT_FIELDS);
  const poolOptions = [{ value: '', label: 'The default worker pool' },
    ...((pools.data && pools.data.Items) || []).map((p) => ({ value: p.Id, label: p.Name }))];
  const run = async (v) => {
    const task = await post(ctx.api('/tasks'), {
      Name: 'AdHocScript',
      Description: v.Description || undefined,
      Arguments: {
        ScriptBody: v.ScriptBody,
        Syntax: v.Syntax,
        TargetType: v.TargetType,
        WorkerPoolIds: v.TargetType === 'WorkerPools' && v.WorkerPoolId ? [v.WorkerPoolId] : [],
      },
    });
    ctx.navigate(`/${ctx.space}/tasks/${task.Id}`);
  };
  return html`<${Page} title="Run a script" subtitle="A script on workers of a pool, or on the server's built-in worker" ready=${pools.data !== undefined || !!pools.error}>
    <${Form} form=${form} onSubmit=${run} submitLabel="Run">
      <${Field} form=${form} name="Description" label="Description" help="Shown in the task list; 'Run script' when empty" />
      <${Field} form=${form} name="TargetType" label="Run on" type="select" options=${[
        { value: 'WorkerPools', label: 'A worker pool' }, { value: 'OctopusServer', label: "The server's built-in worker" }]} />
      ${form.values.TargetType === 'WorkerPools' ? html`<${Field} form=${form} name="WorkerPoolId" label="Worker pool" type="select" options=${poolOptions} />` : null}
      <${Field} form=${form} name="Syntax" label="Syntax" type="select" options=${['Bash', 'Python']} />
      <${Field} form=${form} name="ScriptBody" label="Script" type="textarea" rows="12" />
    </${Form}>
  </${Page}>`;
}

export const routes = [
  { path: '/:space/tasks', view: TaskList, title: 'Tasks' },
  { path: '/:space/tasks/script', view: ScriptConsole, title: 'Run a script' },
  { path: '/:space/tasks/:id', view: TaskView, title: 'Task' },
];
export const nav = [{ label: 'Tasks', path: '/:space/tasks', order: 40, needs: 'TaskView' }];
