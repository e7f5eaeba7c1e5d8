// The infrastructure section: environments and their targets, worker pools and workers, machine
// policies and accounts, and the wizards that add workers and targets. Its pages are in ./infrastructure/.
import { html } from '../ui.js';
import { Overview } from './infrastructure/overview.js';
import { Environments, Environment, MachineList } from './infrastructure/lists.js';
import { Pools, Pool } from './infrastructure/pools.js';
import { Machine } from './infrastructure/machine.js';
import { AddMachine } from './infrastructure/wizard.js';
import { Policies, Policy } from './infrastructure/policies.js';
import { Accounts, Account } from './infrastructure/accounts.js';

const as = (View, kind) => (props) => html`<${View} ...${props} kind=${kind} />`;
const root = '/:space/infrastructure';

export const routes = [
  { path: root, view: Overview },
  { path: `${root}/environments`, view: Environments },
  { path: `${root}/environments/:id`, view: Environment },
  { path: `${root}/targets`, view: as(MachineList, 'target') },
  { path: `${root}/targets/new`, view: as(AddMachine, 'target') },
  { path: `${root}/targets/:id`, view: as(Machine, 'target') },
  { path: `${root}/workerpools`, view: Pools },
  { path: `${root}/workerpools/:id`, view: Pool },
  { path: `${root}/workers`, view: as(MachineList, 'worker') },
  { path: `${root}/workers/new`, view: as(AddMachine, 'worker') },
  { path: `${root}/workers/:id`, view: as(Machine, 'worker') },
  { path: `${root}/machinepolicies`, view: Policies },
  { path: `${root}/machinepolicies/new`, view: Policy },
  { path: `${root}/machinepolicies/:id`, view: Policy },
  { path: `${root}/accounts`, view: Accounts },
  { path: `${root}/accounts/new`, view: Account },
  { path: `${root}/accounts/:id`, view: Account },
];

export const nav = [{ label: 'Infrastructure', path: '/:space/infrastructure', order: 30 }];
