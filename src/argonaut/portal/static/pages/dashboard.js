// The space's start page (filled in by the projects section).
import { html, Page } from '../ui.js';

function Dashboard({ ctx }) {
  const space = ctx.spaces.find((s) => s.Id === ctx.space);
  return html`<${Page} title="Dashboard" subtitle=${space ? space.Name : ''}><p>Welcome.</p></${Page}>`;
}

export const routes = [{ path: '/:space/dashboard', view: Dashboard }];
export const nav = [{ label: 'Dashboard', path: '/:space/dashboard', order: 10 }];
