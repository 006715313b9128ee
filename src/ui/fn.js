// A function's page (#/function/NAME). To come: settings, versions, triggers, queue and dead
// letters, charts, the live log tail, and its actions.
import { apiJson, el } from './api.js';
import { mountActions } from './actions.js';

// Fills section with the function's page; returns {stop()} to leave it.
export async function showFunction(section, name, guarded) {
  section.replaceChildren(el('h1', { tabindex: '-1' }, name));
  await guarded(async () => {
    const f = await apiJson(`/system/function/${encodeURIComponent(name)}`);
    section.append(el('pre', {}, JSON.stringify(f, null, 2)));
    const actions = el('div', { id: 'fn-actions' });
    section.append(actions);
    await mountActions(actions, name, f, () => undefined);
  })();
  return { stop() {} };
}
