// Accounts: the credentials SSH machines log in with. Secrets are write-only: the API answers only
// whether one is set ({HasValue}), so the form shows that and sends a new value only when one is typed.
import { html, useState, useApi, Loaded, Table, Pager, useForm, Form, Field } from '../../ui.js';
import { post, put, query } from '../../api.js';
import { InfraPage, base, nameField } from './common.js';

const TYPES = [{ value: 'UsernamePassword', label: 'Username and password' }, { value: 'SshKeyPair', label: 'SSH key pair' }];
const SECRETS = { UsernamePassword: [['Password', 'Password']], SshKeyPair: [['PrivateKeyFile', 'Private key file (paste its text)'], ['PrivateKeyPassphrase', 'Key passphrase']] };
const isSet = (a, f) => !!(a && a[f] && a[f].HasValue);
// The API takes a key file as the base64 of its bytes; people paste the file's text.
const keyFile = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text.trim() + '\n')));

export function Accounts({ ctx }) {
  const [skip, setSkip] = useState(0);
  const state = useApi(ctx.api(`/accounts${query({ skip, take: 30 })}`));
  const columns = [
    { label: 'Name', render: (a) => html`<a href=${base(ctx, `/accounts/${a.Id}`)}>${a.Name}</a>` },
    { label: 'Type', render: (a) => (TYPES.find((t) => t.value === a.AccountType) || {}).label || a.AccountType },
    { label: 'User name', render: (a) => a.Username || '' },
    { label: 'Secret', render: (a) => ((SECRETS[a.AccountType] || []).some(([f]) => isSet(a, f)) ? 'Set' : 'Not set') },
  ];
  const actions = ctx.can('AccountEdit') ? html`<a class="button primary" href=${base(ctx, '/accounts/new')}>Add account</a>` : null;
  return html`<${InfraPage} ctx=${ctx} here="/accounts" title="Accounts" subtitle="Credentials for SSH workers and targets" actions=${actions} ready=${!state.loading}>
    <${Loaded} state=${state}>${(page) => html`
      <${Table} columns=${columns} rows=${page.Items} empty="No accounts yet." />
      <${Pager} page=${page} skip=${skip} onSkip=${setSkip} />`}
    </${Loaded}>
  </${InfraPage}>`;
}

function AccountForm({ ctx, account, isNew, back }) {
  const form = useForm({
    Name: account.Name || '', Description: account.Description || '', AccountType: account.AccountType || 'UsernamePassword',
    Username: account.Username || '', Password: '', PrivateKeyFile: '', PrivateKeyPassphrase: '',
  }, [nameField('account'), { name: 'Description' }, { name: 'AccountType', label: 'Type' }, { name: 'Username', label: 'User name' },
    { name: 'Password' }, { name: 'PrivateKeyFile', label: 'Private key' }, { name: 'PrivateKeyPassphrase', label: 'Key passphrase' }]);
  const [saved, setSaved] = useState(false);
  const type = form.values.AccountType;
  const save = async (v) => {
    setSaved(false);
    const body = { Name: v.Name, Description: v.Description, AccountType: v.AccountType, Username: v.Username };
    // Only a typed secret is sent: an empty box keeps what the server holds.
    for (const [f] of SECRETS[v.AccountType]) if (v[f]) body[f] = { HasValue: true, NewValue: f === 'PrivateKeyFile' ? keyFile(v[f]) : v[f] };
    const result = isNew ? await post(ctx.api('/accounts'), body) : await put(ctx.api(`/accounts/${account.Id}`), body);
    form.setValues({ ...v, Password: '', PrivateKeyFile: '', PrivateKeyPassphrase: '' });
    if (back) { ctx.navigate(back); return; }
    if (isNew) ctx.navigate(base(ctx, `/accounts/${result.Id}`)); else setSaved(true);
  };
  return html`<${Form} form=${form} onSubmit=${save} submitLabel=${isNew ? 'Add account' : 'Save'}
      extra=${saved ? html`<span role="status" class="muted">Saved</span>` : null}>
    <${Field} form=${form} name="Name" label="Account name" required />
    <${Field} form=${form} name="Description" label="Description" />
    <${Field} form=${form} name="AccountType" label="Type" type="select" options=${TYPES} disabled=${!isNew} />
    <${Field} form=${form} name="Username" label="User name" autocomplete="off" />
    ${SECRETS[type].map(([f, label]) => html`<${Field} form=${form} name=${f} label=${label}
      type=${f === 'PrivateKeyFile' ? 'textarea' : 'password'} autocomplete="new-password" rows=${4}
      help=${isSet(account, f) ? 'Set. Leave empty to keep it; it is never shown.' : 'Not set. Write-only: it is never shown again.'} />`)}
  </${Form}>`;
}

export function Account({ ctx, params, query: q }) {
  const isNew = params.id === undefined;
  const state = useApi(isNew ? null : ctx.api(`/accounts/${params.id}`));
  const a = state.data;
  const back = q && q.back && q.back.startsWith('/app/') ? q.back : null;
  return html`<${InfraPage} ctx=${ctx} here="/accounts" title=${isNew ? 'Add an account' : (a ? a.Name : 'Account')} ready=${isNew || !state.loading}>
    ${isNew ? html`<${AccountForm} ctx=${ctx} account=${{}} isNew=${true} back=${back} />`
      : html`<${Loaded} state=${state}>${(account) => html`<${AccountForm} ctx=${ctx} account=${account} isNew=${false} />`}</${Loaded}>`}
  </${InfraPage}>`;
}
