// The infrastructure overview: how many environments, targets, pools and workers, and how healthy.
import { html, useApis, Loaded } from '../../ui.js';
import { InfraPage, base, HEALTH_ORDER, HealthCounts } from './common.js';

export function Overview({ ctx }) {
  // Only what the user may see: a count they may not read is left out, not an error.
  const may = (needs, path) => (ctx.can(needs) ? ctx.api(path) : null);
  const paths = [
    may('EnvironmentView', '/environments?take=0'),
    may('MachineView', '/machines?take=0'),
    may('WorkerView', '/workerpools?take=0'),
    may('WorkerView', '/workers?take=0'),
    ...HEALTH_ORDER.map((h) => may('WorkerView', `/workers?take=0&isDisabled=false&healthStatuses=${h}`)),
    may('WorkerView', '/workers?take=0&isDisabled=true'),
  ];
  const state = useApis(paths);
  return html`<${InfraPage} ctx=${ctx} here="" title="Infrastructure" subtitle="Where deployments and runbooks run" ready=${!state.loading}>
    <${Loaded} state=${state}>${([envs, targets, pools, workers, ...health]) => html`
      <div class="cards">
        ${envs ? html`<div class="card"><h3><a href=${base(ctx, '/environments')}>Environments</a></h3><p>${envs.TotalResults}</p></div>` : null}
        ${targets ? html`<div class="card"><h3><a href=${base(ctx, '/targets')}>Deployment targets</a></h3><p>${targets.TotalResults}</p></div>` : null}
        ${pools ? html`<div class="card"><h3><a href=${base(ctx, '/workerpools')}>Worker pools</a></h3><p>${pools.TotalResults}</p></div>` : null}
        ${workers ? html`<div class="card"><h3><a href=${base(ctx, '/workers')}>Workers</a></h3><p>${workers.TotalResults}</p>
          <${HealthCounts} summary=${{
            MachineHealthStatusSummaries: Object.fromEntries(HEALTH_ORDER.map((h, i) => [h, health[i].TotalResults])),
            TotalDisabledMachines: health[HEALTH_ORDER.length].TotalResults,
          }} /></div>` : null}
      </div>`}
    </${Loaded}>
  </${InfraPage}>`;
}
