// Shared pieces every page is built from: data loading, forms that show the server's errors beside
// their fields, tables, badges and paging. Pages hold no business rule: they ask the API and show.
import { html, useState, useEffect, useCallback, useRef } from './vendor/htm-preact-3.1.1.js';
import { get, ApiFailure } from './api.js';

export { html, useState, useEffect, useCallback, useRef };

// Loads a GET resource; `path` null means "not yet". `reload()` fetches again; `every` (ms) polls.
export function useApi(path, { every } = {}) {
  const [state, setState] = useState({ data: undefined, error: null, loading: !!path });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) { setState({ data: undefined, error: null, loading: false }); return undefined; }
    let live = true;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    get(path, { signal: controller.signal })
      .then((data) => { if (live) setState({ data, error: null, loading: false }); })
      .catch((error) => { if (live && error.name !== 'AbortError') setState({ data: undefined, error, loading: false }); });
    let timer;
    if (every) timer = setTimeout(() => live && setTick((t) => t + 1), every);
    return () => { live = false; controller.abort(); clearTimeout(timer); };
  }, [path, tick, every]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

// Several GETs at once; answers {data: [..], error, loading, reload}.
export function useApis(paths) {
  const key = JSON.stringify(paths);
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    Promise.all(paths.map((p) => (p ? get(p) : Promise.resolve(null))))
      .then((data) => live && setState({ data, error: null, loading: false }))
      .catch((error) => live && setState({ data: undefined, error, loading: false }));
    return () => { live = false; };
  }, [key, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Page({ title, subtitle, actions, ready = true, children }) {
  useEffect(() => { document.title = `${title} · Argonaut`; }, [title]);
  return html`<section class="page" data-ready=${ready ? 'true' : 'false'} aria-busy=${ready ? 'false' : 'true'}>
    <header class="page-head">
      <div><h1>${title}</h1>${subtitle ? html`<p class="subtitle">${subtitle}</p>` : null}</div>
      ${actions ? html`<div class="actions">${actions}</div>` : null}
    </header>
    ${children}
  </section>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

export function Failure({ error }) {
  if (!error) return null;
  const extra = (error.errors || []).filter((e) => e !== error.message);
  return html`<div class="failure" role="alert">
    <strong>${error.message}</strong>
    ${extra.length ? html`<ul>${extra.map((e) => html`<li>${e}</li>`)}</ul>` : null}
  </div>`;
}

// Shows a resource once loaded: the failure, a loading line, or render(data).
export function Loaded({ state, children }) {
  if (state.error) return html`<${Failure} error=${state.error} />`;
  if (state.data === undefined) return html`<${Loading} />`;
  return children(state.data);
}

// ---- forms -------------------------------------------------------------------------------------

// Which field an error of the server's names: "Name: …", "Name must…", "…'Endpoint.Uri'…".
function errorsFor(field, errors) {
  const names = [field.name, ...(field.aliases || []), field.label].filter(Boolean).map((n) => n.toLowerCase());
  return errors.filter((e) => {
    const text = e.toLowerCase();
    return names.some((n) => text.startsWith(n + ':') || text.startsWith(n + ' ') || text.startsWith(n + '.') || text.includes(`'${n}'`) || text.includes(` ${n}:`));
  });
}

// A form's state: values, the server's failure, busy; `field(name)` gives an input's props and errors.
export function useForm(initial, fields = []) {
  const [values, setValues] = useState(initial);
  const [failure, setFailure] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (name, value) => setValues((v) => ({ ...v, [name]: value }));
  const errorsOf = (name) => {
    if (!failure) return [];
    const spec = fields.find((f) => f.name === name) || { name };
    return errorsFor(spec, failure.errors.length ? failure.errors : [failure.message]);
  };
  async function submit(action) {
    setBusy(true);
    setFailure(null);
    try {
      return await action(values);
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      setFailure(error);
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  // Errors that no field of the form claims are shown beside the submit button.
  const unclaimed = () => {
    if (!failure) return [];
    const all = failure.errors.length ? failure.errors : [failure.message];
    const claimed = new Set(fields.flatMap((f) => errorsFor(f, all)));
    return all.filter((e) => !claimed.has(e));
  };
  return { values, set, setValues, failure, setFailure, busy, submit, errorsOf, unclaimed };
}

let fieldSeq = 0;
// One labelled input with its help and the server's errors beside it (aria-describedby ties them).
export function Field({ form, name, label, type = 'text', options, help, required, rows, placeholder, autocomplete, disabled, value, onInput }) {
  const idRef = useRef(null);
  if (idRef.current === null) idRef.current = `f${++fieldSeq}`;
  const id = idRef.current;
  const errors = form ? form.errorsOf(name) : [];
  const current = value !== undefined ? value : (form ? form.values[name] : '');
  const change = (v) => (onInput ? onInput(v) : form.set(name, v));
  const described = [help ? `${id}-help` : null, errors.length ? `${id}-err` : null].filter(Boolean).join(' ') || undefined;
  let input;
  const common = { id, name, disabled, 'aria-invalid': errors.length ? 'true' : undefined, 'aria-describedby': described };
  if (type === 'select') {
    input = html`<select ...${common} value=${current ?? ''} onChange=${(e) => change(e.target.value)}>
      ${(options || []).map((o) => (typeof o === 'string' ? html`<option value=${o}>${o}</option>` : html`<option value=${o.value}>${o.label}</option>`))}
    </select>`;
  } else if (type === 'checkbox') {
    input = html`<input type="checkbox" ...${common} checked=${!!current} onChange=${(e) => change(e.target.checked)} />`;
  } else if (type === 'multiselect') {
    const chosen = new Set(current || []);
    input = html`<select multiple size=${Math.min(6, Math.max(2, (options || []).length))} ...${common}
      onChange=${(e) => change([...e.target.selectedOptions].map((o) => o.value))}>
      ${(options || []).map((o) => html`<option value=${o.value} selected=${chosen.has(o.value)}>${o.label}</option>`)}
    </select>`;
  } else if (type === 'textarea') {
    input = html`<textarea ...${common} rows=${rows || 6} placeholder=${placeholder} spellcheck="false"
      value=${current ?? ''} onInput=${(e) => change(e.target.value)}></textarea>`;
  } else {
    input = html`<input type=${type} ...${common} required=${required} placeholder=${placeholder} autocomplete=${autocomplete}
      value=${current ?? ''} onInput=${(e) => change(type === 'number' ? (e.target.value === '' ? '' : Number(e.target.value)) : e.target.value)} />`;
  }
  return html`<div class=${`field ${type === 'checkbox' ? 'check' : ''} ${errors.length ? 'has-error' : ''}`}>
    <label for=${id}>${label}${required ? html`<span class="req" aria-hidden="true"> *</span>` : null}</label>
    ${input}
    ${help ? html`<small id=${`${id}-help`} class="help">${help}</small>` : null}
    ${errors.length ? html`<div id=${`${id}-err`} class="field-error" role="alert">${errors.map((e) => html`<div>${e}</div>`)}</div>` : null}
  </div>`;
}

// A form with a submit button; errors no field claims are shown beside the button.
export function Form({ form, onSubmit, submitLabel = 'Save', children, extra }) {
  const rest = form.unclaimed();
  return html`<form class="form" onSubmit=${(e) => { e.preventDefault(); form.submit(onSubmit); }} novalidate>
    ${children}
    <div class="form-actions">
      <button type="submit" class="primary" disabled=${form.busy}>${form.busy ? 'Working…' : submitLabel}</button>
      ${extra}
      ${rest.length ? html`<div class="form-error" role="alert">${rest.map((e) => html`<div>${e}</div>`)}</div>` : null}
    </div>
  </form>`;
}

// ---- display -----------------------------------------------------------------------------------

const HEALTH_CLASS = { Healthy: 'ok', HasWarnings: 'warn', Unhealthy: 'bad', Unavailable: 'off', Unknown: 'off' };
const HEALTH_TEXT = { HasWarnings: 'Has warnings' };
export function Health({ status, disabled }) {
  if (disabled) return html`<span class="badge off" title="Disabled">Disabled</span>`;
  return html`<span class=${`badge ${HEALTH_CLASS[status] || 'off'}`}>${HEALTH_TEXT[status] || status || 'Unknown'}</span>`;
}

const STATE_CLASS = { Success: 'ok', Failed: 'bad', TimedOut: 'bad', Canceled: 'off', Cancelling: 'warn', Executing: 'run', Queued: 'wait' };
export function TaskState({ state, pending }) {
  const text = pending ? 'Waiting for a person' : state;
  return html`<span class=${`badge ${pending ? 'warn' : (STATE_CLASS[state] || 'off')}`}>${text}</span>`;
}

export function Table({ columns, rows, empty = 'Nothing here yet.', caption, rowKey = (r) => r.Id }) {
  if (!rows || rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table class="grid">
    ${caption ? html`<caption>${caption}</caption>` : null}
    <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr key=${rowKey(r)}>${columns.map((c) => html`<td>${c.render ? c.render(r) : r[c.key]}</td>`)}</tr>`)}</tbody>
  </table>`;
}

export function Pager({ page, skip = 0, onSkip }) {
  if (!page || page.TotalResults <= page.ItemsPerPage) return null;
  const from = page.Items.length ? skip + 1 : 0;
  const to = skip + page.Items.length;
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" disabled=${skip === 0} onClick=${() => onSkip(Math.max(0, skip - page.ItemsPerPage))}>Previous</button>
    <span>${from}–${to} of ${page.TotalResults}</span>
    <button type="button" disabled=${to >= page.TotalResults} onClick=${() => onSkip(skip + page.ItemsPerPage)}>Next</button>
  </nav>`;
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// A command or key to copy, shown in full so it can also be selected by hand.
export function CopyBox({ text, label = 'Copy' }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try { await navigator.clipboard.writeText(text); setCopied(true); setTimeout(() => setCopied(false), 1500); } catch (_) { setCopied(false); }
  };
  return html`<div class="copybox"><pre><code>${text}</code></pre>
    <button type="button" onClick=${copy}>${copied ? 'Copied' : label}</button></div>`;
}

export function Tabs({ tabs, current, onSelect }) {
  return html`<div class="tabs" role="tablist">${tabs.map((t) => html`<button type="button" role="tab"
    aria-selected=${t.id === current ? 'true' : 'false'} class=${t.id === current ? 'current' : ''}
    onClick=${() => onSelect(t.id)}>${t.label}</button>`)}</div>`;
}

// Runs an API action from a button, showing its failure beside it.
export function ActionButton({ label, busyLabel, action, confirmText, className = '', onDone }) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState(null);
  const run = async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    setBusy(true); setFailure(null);
    try { const result = await action(); if (onDone) onDone(result); } catch (e) { if (e instanceof ApiFailure) setFailure(e); else throw e; } finally { setBusy(false); }
  };
  return html`<span class="action-button"><button type="button" class=${className} disabled=${busy} onClick=${run}>${busy ? (busyLabel || 'Working…') : label}</button>
    ${failure ? html`<span class="inline-error" role="alert">${failure.message}</span>` : null}</span>`;
}
