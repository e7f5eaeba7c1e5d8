// People: users, teams and the roles they hold, user roles, the signed-in user's profile and API keys,
// and the audit log. Every rule (who may see or change whom, which roles a space team may hold, the
// password policy) is the API's: these pages ask, show, and put the server's errors beside the fields.
import {
  html, useState, Page, Loaded, Failure, useApi, useApis, useForm, Form, Field, Table, Pager,
  CopyBox, ActionButton, when, ago,
} from '../ui.js';
import { post, put, del, query } from '../api.js';

const TAKE = 30;

// The server's messages name fields in prose ("The password must…", "A user with the user name…"):
// these aliases let Field claim them, so each shows beside the field it is about.
const USER_FIELDS = [
  { name: 'Username', label: 'User name', aliases: ['a user with the user name', 'username'] },
  { name: 'DisplayName', label: 'Display name' },
  { name: 'EmailAddress', label: 'Email address', aliases: ['email'] },
  { name: 'Password', label: 'Password', aliases: ['the password', 'a service account has no password', 'newpassword'] },
];
const PASSWORD_FIELDS = [
  { name: 'OldPassword', label: 'Current password', aliases: ['the current password', 'changing the password needs the current one'] },
  { name: 'Password', label: 'New password', aliases: ['the password', 'newpassword'] },
];

function PeopleTabs({ ctx, current }) {
  const tabs = [
    { id: 'users', label: 'Users', path: '/people' },
    { id: 'teams', label: 'Teams', path: '/people/teams' },
    { id: 'roles', label: 'User roles', path: '/people/roles' },
  ];
  return html`<nav class="tabs" aria-label="People">${tabs.map((t) => html`<a class=${`button ${t.id === current ? 'current' : ''}`}
    href=${ctx.href(t.path)} aria-current=${t.id === current ? 'page' : undefined}>${t.label}</a>`)}</nav>`;
}

function userName(u) {
  return u ? (u.DisplayName && u.DisplayName !== u.Username ? `${u.DisplayName} (${u.Username})` : u.Username) : '';
}

// ---- users -------------------------------------------------------------------------------------

function Users({ ctx, query: q }) {
  const skip = Number(q.skip || 0);
  const [name, setName] = useState(q.partialName || '');
  const state = useApi(`/api/users${query({ skip, take: TAKE, partialName: q.partialName })}`);
  const go = (params) => ctx.navigate(`/${ctx.space}/people${query({ partialName: q.partialName, skip, ...params })}`);
  const actions = ctx.canSystem('UserEdit') ? html`<a class="button primary" href=${ctx.href('/people/users/new')}>Add user</a>` : null;
  return html`<${Page} title="Users" subtitle="People and service accounts" actions=${actions} ready=${state.data !== undefined || !!state.error}>
    <${PeopleTabs} ctx=${ctx} current="users" />
    <form class="filters" role="search" onSubmit=${(e) => { e.preventDefault(); go({ partialName: name, skip: 0 }); }}>
      <${Field} name="partialName" label="Name contains" value=${name} onInput=${setName} />
      <button type="submit">Filter</button>
    </form>
    <${Loaded} state=${state}>${(page) => html`
      <${Table} caption="Users" rows=${page.Items} empty="No users match." columns=${[
        { label: 'Name', render: (u) => html`<a href=${ctx.href(`/people/users/${u.Id}`)}>${u.DisplayName || u.Username}</a>` },
        { label: 'User name', key: 'Username' },
        { label: 'Email', render: (u) => u.EmailAddress || '' },
        { label: 'Kind', render: (u) => (u.IsService ? 'Service account' : 'Person') },
        { label: 'Status', render: (u) => (u.IsActive ? html`<span class="badge ok">Active</span>` : html`<span class="badge off">Disabled</span>`) },
      ]} />
      <${Pager} page=${page} skip=${skip} onSkip=${(s) => go({ skip: s })} />`}
    </${Loaded}>
  </${Page}>`;
}

function NewUser({ ctx }) {
  const form = useForm({ Username: '', DisplayName: '', EmailAddress: '', Password: '', IsService: false }, USER_FIELDS);
  const create = async (v) => {
    const body = { ...v, Password: v.IsService ? null : (v.Password || null), EmailAddress: v.EmailAddress || null };
    const user = await post('/api/users', body);
    ctx.navigate(`/${ctx.space}/people/users/${user.Id}`);
  };
  return html`<${Page} title="Add user">
    <${PeopleTabs} ctx=${ctx} current="users" />
    <div class="panel">
      <${Form} form=${form} submitLabel="Create user" onSubmit=${create}>
        <${Field} form=${form} name="Username" label="User name" required autocomplete="off" />
        <${Field} form=${form} name="DisplayName" label="Display name" />
        <${Field} form=${form} name="EmailAddress" label="Email address" type="email" />
        <${Field} form=${form} name="IsService" label="Service account" type="checkbox" help="Signs in with API keys only, never a password." />
        ${form.values.IsService ? null : html`<${Field} form=${form} name="Password" label="Password" type="password" autocomplete="new-password" />`}
      </${Form}>
    </div>
  </${Page}>`;
}

function UserPage({ ctx, params }) {
  const { id } = params;
  const state = useApis([`/api/users/${id}`, `/api/users/${id}/teams`]);
  const [user, teams] = state.data || [];
  const mayEdit = ctx.canSystem('UserEdit');
  return html`<${Page} title=${user ? userName(user) : 'User'} subtitle=${user ? (user.IsService ? 'Service account' : 'Person') : ''}
      ready=${!!state.data || !!state.error}
      actions=${user && mayEdit ? html`<${ActionButton} label=${user.IsActive ? 'Disable' : 'Enable'}
        action=${() => put(`/api/users/${id}`, { IsActive: !user.IsActive })} onDone=${state.reload} />
        <${ActionButton} label="Delete" className="danger" confirmText=${`Delete the user ${user.Username}?`}
        action=${() => del(`/api/users/${id}`)} onDone=${() => ctx.navigate(`/${ctx.space}/people`)} />` : null}>
    <${PeopleTabs} ctx=${ctx} current="users" />
    <${Loaded} state=${state}>${() => html`
      ${user.IsActive ? null : html`<p class="notice">This user is disabled: they cannot sign in and their API keys are refused.</p>`}
      <div class="row">
        <div class="panel"><h2>Details</h2>
          ${mayEdit || user.IsRequestor ? html`<${UserDetails} key=${user.Id} user=${user} onSaved=${state.reload} />`
            : html`<dl class="kv"><dt>User name</dt><dd>${user.Username}</dd><dt>Email</dt><dd>${user.EmailAddress || '—'}</dd></dl>`}
        </div>
        <div class="panel"><h2>Teams</h2>
          ${teams.length ? html`<ul>${teams.map((t) => html`<li><a href=${ctx.href(`/people/teams/${t.Id}`)}>${t.Name}</a>
            <span class="muted">${t.SpaceId ? ` · ${spaceName(ctx, t.SpaceId)}` : ' · system'}</span></li>`)}</ul>`
            : html`<p class="empty">Not a member of any team.</p>`}
          ${mayEdit && user.CanPasswordBeEdited ? html`<h2>Set password</h2><${SetPassword} user=${user} />` : null}
        </div>
      </div>`}
    </${Loaded}>
  </${Page}>`;
}

function UserDetails({ user, onSaved }) {
  const form = useForm({ Username: user.Username, DisplayName: user.DisplayName || '', EmailAddress: user.EmailAddress || '' }, USER_FIELDS);
  const [saved, setSaved] = useState(false);
  const save = async (v) => {
    setSaved(false);
    await put(`/api/users/${user.Id}`, { ...v, EmailAddress: v.EmailAddress || null });
    setSaved(true);
    onSaved();
  };
  return html`<${Form} form=${form} onSubmit=${save} extra=${saved ? html`<span role="status">Saved.</span>` : null}>
    <${Field} form=${form} name="Username" label="User name" required autocomplete="off" />
    <${Field} form=${form} name="DisplayName" label="Display name" />
    <${Field} form=${form} name="EmailAddress" label="Email address" type="email" />
  </${Form}>`;
}

// An administrator sets another user's password (no current password needed: the API decides).
function SetPassword({ user }) {
  const form = useForm({ Password: '' }, USER_FIELDS);
  const [done, setDone] = useState(false);
  const save = async (v) => { setDone(false); await put(`/api/users/${user.Id}`, { Password: v.Password }); form.set('Password', ''); setDone(true); };
  return html`<${Form} form=${form} submitLabel="Set password" onSubmit=${save} extra=${done ? html`<span role="status">Password set.</span>` : null}>
    <${Field} form=${form} name="Password" label="New password" type="password" autocomplete="new-password" />
  </${Form}>`;
}

function spaceName(ctx, spaceId) {
  const s = ctx.spaces.find((x) => x.Id === spaceId);
  return s ? s.Name : spaceId;
}

// ---- teams -------------------------------------------------------------------------------------

function Teams({ ctx, query: q }) {
  const skip = Number(q.skip || 0);
  const state = useApi(ctx.api(`/teams${query({ skip, take: TAKE })}`));
  const [adding, setAdding] = useState(false);
  const form = useForm({ Name: '', Description: '' }, [{ name: 'Name' }, { name: 'Description' }]);
  const create = async (v) => {
    const team = await post(ctx.api('/teams'), { Name: v.Name, Description: v.Description || null, MemberUserIds: [] });
    ctx.navigate(`/${ctx.space}/people/teams/${team.Id}`);
  };
  const mayCreate = ctx.can('TeamCreate');
  return html`<${Page} title="Teams" subtitle=${`Teams of ${spaceName(ctx, ctx.space)} and the system's teams`}
      ready=${state.data !== undefined || !!state.error}
      actions=${mayCreate ? html`<button type="button" class="primary" aria-expanded=${adding ? 'true' : 'false'} onClick=${() => setAdding(!adding)}>Add team</button>` : null}>
    <${PeopleTabs} ctx=${ctx} current="teams" />
    ${adding ? html`<div class="panel"><h2>New team in ${spaceName(ctx, ctx.space)}</h2>
      <${Form} form=${form} submitLabel="Create team" onSubmit=${create}>
        <${Field} form=${form} name="Name" label="Team name" required />
        <${Field} form=${form} name="Description" label="Description" type="textarea" rows=${2} />
      </${Form}></div>` : null}
    <${Loaded} state=${state}>${(page) => html`
      <${Table} caption="Teams" rows=${page.Items} columns=${[
        { label: 'Team', render: (t) => html`<a href=${ctx.href(`/people/teams/${t.Id}`)}>${t.Name}</a>` },
        { label: 'Scope', render: (t) => (t.SpaceId ? spaceName(ctx, t.SpaceId) : 'System') },
        { label: 'Members', render: (t) => t.MemberUserIds.length },
        { label: 'Description', render: (t) => t.Description || '' },
      ]} />
      <${Pager} page=${page} skip=${skip} onSkip=${(s) => ctx.navigate(`/${ctx.space}/people/teams${query({ skip: s })}`)} />`}
    </${Loaded}>
  </${Page}>`;
}

function TeamPage({ ctx, params }) {
  const { id } = params;
  const mayUsers = ctx.canSystem('UserView');
  const state = useApis([
    `/api/teams/${id}`,
    `/api/teams/${id}/scopeduserroles?take=1000`,
    '/api/userroles?take=1000',
    mayUsers ? '/api/users/all' : null,
  ]);
  const [team, scoped, roles, users] = state.data || [];
  const names = useRestrictionNames(scoped);
  const mayEdit = ctx.can('TeamEdit') || ctx.canSystem('TeamEdit');
  return html`<${Page} title=${team ? team.Name : 'Team'} subtitle=${team ? (team.SpaceId ? `Team of ${spaceName(ctx, team.SpaceId)}` : 'System team') : ''}
      ready=${!!state.data || !!state.error}
      actions=${team && team.CanBeDeleted && mayEdit ? html`<${ActionButton} label="Delete team" className="danger"
        confirmText=${`Delete the team ${team.Name}?`} action=${() => del(`/api/teams/${id}`)}
        onDone=${() => ctx.navigate(`/${ctx.space}/people/teams`)} />` : null}>
    <${PeopleTabs} ctx=${ctx} current="teams" />
    <${Loaded} state=${state}>${() => html`
      <div class="row">
        <div class="panel"><h2>Team</h2>
          <${TeamForm} key=${team.Id} team=${team} users=${users} onSaved=${state.reload} />
        </div>
        <div class="panel"><h2>Roles</h2>
          <${Table} caption="Roles this team holds" rows=${scoped.Items} empty="This team holds no role yet." columns=${[
            { label: 'Role', render: (s) => roleName(roles, s.UserRoleId) },
            { label: 'Space', render: (s) => (s.SpaceId ? spaceName(ctx, s.SpaceId) : 'System-wide') },
            { label: 'Restricted to', render: (s) => restrictions(s, names) },
            { label: '', render: (s) => (team.CanChangeRoles ? html`<${ActionButton} label="Remove" className="danger"
                confirmText="Take this role from the team?" action=${() => del(`/api/scopeduserroles/${s.Id}`)} onDone=${state.reload} />` : null) },
          ]} />
          ${team.CanChangeRoles ? html`<h2>Give a role</h2><${AddRole} ctx=${ctx} team=${team} roles=${roles} onDone=${state.reload} />` : null}
        </div>
      </div>`}
    </${Loaded}>
  </${Page}>`;
}

function roleName(roles, roleId) {
  const r = roles.Items.find((x) => x.Id === roleId);
  return r ? r.Name : roleId;
}

const RESTRICTIONS = [
  { key: 'ProjectIds', label: 'Projects', api: 'projects' },
  { key: 'ProjectGroupIds', label: 'Project groups', api: 'projectgroups' },
  { key: 'EnvironmentIds', label: 'Environments', api: 'environments' },
];

// The names of the projects, groups and environments the team's roles are restricted to: one request
// per space and kind, for just those ids, once the roles have loaded (ids show until then).
function useRestrictionNames(scoped) {
  const wanted = {};
  for (const s of (scoped ? scoped.Items : [])) {
    if (!s.SpaceId) continue;
    for (const r of RESTRICTIONS) {
      for (const id of s[r.key]) (wanted[`/api/${s.SpaceId}/${r.api}/all`] ||= new Set()).add(id);
    }
  }
  const paths = Object.entries(wanted).map(([path, ids]) => `${path}${query({ ids: [...ids].sort().join(',') })}`).sort();
  const found = useApis(paths);
  const names = {};
  for (const list of found.data || []) for (const x of list || []) names[x.Id] = x.Name;
  return names;
}

function restrictions(s, names) {
  const parts = RESTRICTIONS.filter((r) => s[r.key].length)
    .map((r) => `${r.label}: ${s[r.key].map((id) => names[id] || id).join(', ')}`);
  return parts.length ? parts.join('; ') : 'Everything in scope';
}

function TeamForm({ team, users, onSaved }) {
  const form = useForm({ Name: team.Name, Description: team.Description || '', MemberUserIds: team.MemberUserIds },
    [{ name: 'Name', label: 'Team name', aliases: ['the team'] }, { name: 'Description' }, { name: 'MemberUserIds', label: 'Members' }]);
  const [saved, setSaved] = useState(false);
  const save = async (v) => {
    setSaved(false);
    await put(`/api/teams/${team.Id}`, { Name: v.Name, Description: v.Description || null, MemberUserIds: v.MemberUserIds, SpaceId: team.SpaceId });
    setSaved(true);
    onSaved();
  };
  const options = users
    ? users.map((u) => ({ value: u.Id, label: userName(u) }))
    : team.MemberUserIds.map((u) => ({ value: u, label: u }));
  return html`<${Form} form=${form} onSubmit=${save} extra=${saved ? html`<span role="status">Saved.</span>` : null}>
    <${Field} form=${form} name="Name" label="Team name" required disabled=${!team.CanBeRenamed} />
    <${Field} form=${form} name="Description" label="Description" type="textarea" rows=${2} />
    <${Field} form=${form} name="MemberUserIds" label="Members" type="multiselect" options=${options}
      help="Ctrl-click (or Shift with the arrow keys) to choose several." />
  </${Form}>`;
}

// A role for the team, in one space (a space team: its own), optionally restricted to projects,
// project groups and environments of that space (their lists load when the space is chosen).
function AddRole({ ctx, team, roles, onDone }) {
  const initialSpace = team.SpaceId || '';
  const form = useForm({ UserRoleId: roles.Items[0] ? roles.Items[0].Id : '', SpaceId: initialSpace, ProjectIds: [], ProjectGroupIds: [], EnvironmentIds: [] },
    [{ name: 'UserRoleId', label: 'Role', aliases: ['userroleid', 'a space team', 'the role'] }, { name: 'SpaceId', label: 'Space' },
      { name: 'ProjectIds', label: 'Projects' }, { name: 'ProjectGroupIds', label: 'Project groups' }, { name: 'EnvironmentIds', label: 'Environments' }]);
  const space = form.values.SpaceId;
  const lists = useApis(space ? [`/api/${space}/projects/all`, `/api/${space}/projectgroups/all`, `/api/${space}/environments/all`] : []);
  const [projects, groups, environments] = (space && lists.data) || [[], [], []];
  const opts = (items) => (items || []).map((x) => ({ value: x.Id, label: x.Name }));
  const give = async (v) => {
    await post(`/api/teams/${team.Id}/scopeduserroles`, { ...v, SpaceId: v.SpaceId || null, TeamId: team.Id });
    form.setValues((x) => ({ ...x, ProjectIds: [], ProjectGroupIds: [], EnvironmentIds: [] }));
    onDone();
  };
  const spaceOptions = team.SpaceId
    ? [{ value: team.SpaceId, label: spaceName(ctx, team.SpaceId) }]
    : [{ value: '', label: 'System-wide' }, ...ctx.spaces.map((s) => ({ value: s.Id, label: s.Name }))];
  return html`<${Form} form=${form} submitLabel="Give role" onSubmit=${give}>
    <${Field} form=${form} name="UserRoleId" label="Role" type="select" options=${roles.Items.map((r) => ({ value: r.Id, label: r.Name }))} />
    <${Field} form=${form} name="SpaceId" label="Space" type="select" options=${spaceOptions} disabled=${!!team.SpaceId} />
    ${space ? html`
      ${lists.error ? html`<${Failure} error=${lists.error} />` : null}
      <${Field} form=${form} name="ProjectIds" label="Projects" type="multiselect" options=${opts(projects)} help="None chosen: every project." />
      <${Field} form=${form} name="ProjectGroupIds" label="Project groups" type="multiselect" options=${opts(groups)} help="None chosen: every project group." />
      <${Field} form=${form} name="EnvironmentIds" label="Environments" type="multiselect" options=${opts(environments)} help="None chosen: every environment." />` : null}
  </${Form}>`;
}

// ---- user roles --------------------------------------------------------------------------------

function Roles({ ctx }) {
  const state = useApi('/api/userroles?take=1000');
  return html`<${Page} title="User roles" subtitle="What each role lets a team do" ready=${state.data !== undefined || !!state.error}>
    <${PeopleTabs} ctx=${ctx} current="roles" />
    <${Loaded} state=${state}>${(page) => html`<${Table} caption="User roles" rows=${page.Items} columns=${[
      { label: 'Role', render: (r) => html`<a href=${ctx.href(`/people/roles/${r.Id}`)}>${r.Name}</a>` },
      { label: 'Kind', render: (r) => (r.IsBuiltIn ? 'Built in' : 'Custom') },
      { label: 'Permissions', render: (r) => r.GrantedSpacePermissions.length + r.GrantedSystemPermissions.length },
      { label: 'Description', render: (r) => r.Description || '' },
    ]} />`}</${Loaded}>
  </${Page}>`;
}

function RolePage({ ctx, params }) {
  const state = useApi(`/api/userroles/${params.id}`);
  const role = state.data;
  return html`<${Page} title=${role ? role.Name : 'User role'} subtitle=${role ? role.Description : ''} ready=${!!role || !!state.error}>
    <${PeopleTabs} ctx=${ctx} current="roles" />
    <${Loaded} state=${state}>${(r) => html`<div class="row">
      <div class="panel"><h2>Space permissions</h2>
        ${r.GrantedSpacePermissions.length ? html`<ul>${r.GrantedSpacePermissions.map((p) => html`<li class="mono">${p}</li>`)}</ul>` : html`<p class="empty">None.</p>`}</div>
      <div class="panel"><h2>System permissions</h2>
        ${r.GrantedSystemPermissions.length ? html`<ul>${r.GrantedSystemPermissions.map((p) => html`<li class="mono">${p}</li>`)}</ul>` : html`<p class="empty">None.</p>`}</div>
    </div>`}</${Loaded}>
  </${Page}>`;
}

// ---- profile -----------------------------------------------------------------------------------

function Profile({ ctx }) {
  const id = ctx.me.Id;
  const state = useApis([`/api/users/${id}`, `/api/users/${id}/apikeys?take=1000`]);
  const [me, keys] = state.data || [];
  return html`<${Page} title="Your profile" subtitle=${ctx.me.Username} ready=${!!state.data || !!state.error}>
    <${Loaded} state=${state}>${() => html`
      <div class="row">
        <div class="panel"><h2>Details</h2><${UserDetails} key=${me.Id} user=${me} onSaved=${() => {}} /></div>
        ${me.CanPasswordBeEdited ? html`<div class="panel"><h2>Change password</h2><${ChangePassword} user=${me} /></div>` : null}
      </div>
      <div class="panel"><h2>API keys</h2>
        <p class="help">An API key acts as you (header X-Octopus-ApiKey). It is shown once, when created.</p>
        <${Table} caption="Your API keys" rows=${keys.Items} empty="You have no API keys." columns=${[
          { label: 'Purpose', key: 'Purpose' },
          { label: 'Created', render: (k) => html`<span title=${when(k.Created)}>${ago(k.Created)}</span>` },
          { label: 'Expires', render: (k) => (k.Expires ? when(k.Expires) : 'Never') },
          { label: '', render: (k) => html`<${ActionButton} label=${`Revoke ${k.Purpose}`} className="danger"
              confirmText=${`Revoke the API key '${k.Purpose}'? Anything using it stops working.`}
              action=${() => del(`/api/users/${id}/apikeys/${k.Id}`)} onDone=${state.reload} />` },
        ]} />
        <h2>New API key</h2>
        <${NewApiKey} userId=${id} onDone=${state.reload} />
      </div>`}
    </${Loaded}>
  </${Page}>`;
}

function ChangePassword({ user }) {
  const form = useForm({ OldPassword: '', Password: '' }, PASSWORD_FIELDS);
  const [done, setDone] = useState(false);
  const save = async (v) => {
    setDone(false);
    await put(`/api/users/${user.Id}`, { PasswordChange: { OldPassword: v.OldPassword, NewPassword: v.Password } });
    form.setValues({ OldPassword: '', Password: '' });
    setDone(true);
  };
  return html`<${Form} form=${form} submitLabel="Change password" onSubmit=${save} extra=${done ? html`<span role="status">Password changed.</span>` : null}>
    <${Field} form=${form} name="OldPassword" label="Current password" type="password" autocomplete="current-password" />
    <${Field} form=${form} name="Password" label="New password" type="password" autocomplete="new-password" />
  </${Form}>`;
}

function NewApiKey({ userId, onDone }) {
  const form = useForm({ Purpose: '', Expires: '' }, [{ name: 'Purpose' }, { name: 'Expires', label: 'Expires on' }]);
  const [created, setCreated] = useState(null);
  const create = async (v) => {
    setCreated(null);
    const expires = v.Expires ? new Date(`${v.Expires}T23:59:59`).toISOString() : null;
    const key = await post(`/api/users/${userId}/apikeys`, { Purpose: v.Purpose, Expires: expires });
    form.setValues({ Purpose: '', Expires: '' });
    setCreated(key);
    onDone();
  };
  return html`<div>
    ${created ? html`<div class="notice" role="status"><p>Your new key for <strong>${created.Purpose}</strong>. Copy it now: it is not shown again.</p>
      <${CopyBox} text=${created.ApiKey} label="Copy key" /></div>` : null}
    <${Form} form=${form} submitLabel="Create API key" onSubmit=${create}>
      <${Field} form=${form} name="Purpose" label="Purpose" required help="What the key is for, e.g. the build server." />
      <${Field} form=${form} name="Expires" label="Expires on" type="date" help="Optional: the key stops working after this day." />
    </${Form}>
  </div>`;
}

// ---- audit -------------------------------------------------------------------------------------

function toIso(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

function Audit({ ctx, query: q }) {
  const skip = Number(q.skip || 0);
  const everywhere = q.scope === 'all';
  const filters = { users: q.users, regarding: q.regarding, eventCategories: q.eventCategories, from: toIso(q.from), to: toIso(q.to) };
  const base = everywhere ? '/api/events' : ctx.api('/events');
  const mayUsers = ctx.canSystem('UserView');
  const state = useApi(`${base}${query({ ...filters, skip, take: TAKE })}`);
  const lookups = useApis(['/api/events/categories', mayUsers ? '/api/users/all' : null]);
  const [categories, users] = lookups.data || [[], null];
  const form = useForm({ scope: q.scope || '', users: q.users || '', regarding: q.regarding || '', eventCategories: q.eventCategories || '', from: q.from || '', to: q.to || '' });
  const apply = (v) => ctx.navigate(`/${ctx.space}/audit${query({ ...v, skip: 0 })}`);
  const go = (s) => ctx.navigate(`/${ctx.space}/audit${query({ ...q, skip: s })}`);
  return html`<${Page} title="Audit log" subtitle=${everywhere ? 'Every space you may see, and the system' : spaceName(ctx, ctx.space)}
      ready=${state.data !== undefined || !!state.error}>
    <form class="filters" role="search" onSubmit=${(e) => { e.preventDefault(); apply(form.values); }}>
      <${Field} form=${form} name="scope" label="Where" type="select" options=${[{ value: '', label: 'This space' }, { value: 'all', label: 'Everywhere' }]} />
      ${users ? html`<${Field} form=${form} name="users" label="User" type="select"
          options=${[{ value: '', label: 'Anyone' }, ...users.map((u) => ({ value: u.Id, label: userName(u) }))]} />`
        : html`<${Field} form=${form} name="users" label="User" placeholder="User name or id" />`}
      <${Field} form=${form} name="regarding" label="Regarding" placeholder="Document id, e.g. Projects-1" />
      <${Field} form=${form} name="eventCategories" label="Category" type="select"
        options=${[{ value: '', label: 'Any' }, ...(categories || []).map((c) => ({ value: c.Id, label: c.Name }))]} />
      <${Field} form=${form} name="from" label="From" type="datetime-local" />
      <${Field} form=${form} name="to" label="To" type="datetime-local" />
      <button type="submit">Filter</button>
    </form>
    <${Loaded} state=${state}>${(page) => html`
      ${page.Items.length ? html`<ol class="audit-log">${page.Items.map((e) => html`<${AuditEntry} key=${e.Id} event=${e} />`)}</ol>`
        : html`<p class="empty">No events match.</p>`}
      <${Pager} page=${page} skip=${skip} onSkip=${go} />`}
    </${Loaded}>
  </${Page}>`;
}

function AuditEntry({ event: e }) {
  const diffs = (e.ChangeDetails && e.ChangeDetails.Differences) || [];
  return html`<li class="audit-entry">
    <div class="audit-head">
      <strong>${e.Username || 'system'}</strong>
      <span class="badge">${e.Category}</span>
      <time datetime=${e.Occurred} title=${e.Occurred}>${when(e.Occurred)}</time>
    </div>
    <div>${e.Message}</div>
    ${e.RelatedDocumentIds.length ? html`<div class="muted">Regarding ${e.RelatedDocumentIds.join(', ')}</div>` : null}
    ${diffs.length ? html`<details><summary>Changes (${diffs.length})</summary>
      <table class="grid"><thead><tr><th scope="col">Change</th><th scope="col">Field</th><th scope="col">Value</th></tr></thead>
        <tbody>${diffs.map((d) => html`<tr><td>${d.op}</td><td class="mono">${d.path}</td>
          <td class="mono">${d.Sensitive ? 'changed (sensitive)' : (d.op === 'remove' ? '—' : JSON.stringify(d.value))}</td></tr>`)}</tbody></table>
    </details>` : null}
  </li>`;
}

export const routes = [
  { path: '/:space/people', view: Users },
  { path: '/:space/people/users/new', view: NewUser },
  { path: '/:space/people/users/:id', view: UserPage },
  { path: '/:space/people/teams', view: Teams },
  { path: '/:space/people/teams/:id', view: TeamPage },
  { path: '/:space/people/roles', view: Roles },
  { path: '/:space/people/roles/:id', view: RolePage },
  { path: '/:space/audit', view: Audit },
  { path: '/profile', view: Profile },
];

export const nav = [
  { label: 'People', path: '/:space/people', order: 50, needs: 'UserView', system: true },
  { label: 'Audit', path: '/:space/audit', order: 60, needs: 'EventView' },
];
