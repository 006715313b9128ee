// The console's actions, each one request to the management API the CLI uses. To come: deploy
// from a form or an upload, invoke, delete, rollback, redrive.
import { el } from './api.js';

export async function showDeploy(section) {
  section.replaceChildren(el('h1', { tabindex: '-1' }, 'Deploy'));
  return { stop() {} };
}
