// Gentle polling: every `seconds` while the tab is visible, none while it is hidden, one at once
// when it shows again. A hidden console makes no request, so the stack can go idle (the gateway
// and the API exit after their idle time; see docs/DESIGN.md "Web console").
const pollers = new Set();

export function poll(seconds, run) {
  let timer = null;
  let stopped = false;
  let running = false;
  const tick = async () => {
    timer = null;
    if (stopped || running || document.visibilityState !== 'visible') return;
    running = true;
    try { await run(); } catch { /* run says its own failures */ } finally {
      running = false;
      if (!stopped && timer === null && document.visibilityState === 'visible') timer = setTimeout(tick, seconds * 1000);
    }
  };
  const p = {
    wake: () => { if (!stopped && !running && timer === null && document.visibilityState === 'visible') tick(); },
    sleep: () => { if (timer !== null) clearTimeout(timer); timer = null; },
    stop: () => { stopped = true; p.sleep(); pollers.delete(p); },
  };
  pollers.add(p);
  p.wake();
  return p;
}

// Every poller (and every open stream, via onHidden) follows the tab's visibility.
const hiddenHooks = new Set();
export const onVisibility = (hook) => { hiddenHooks.add(hook); return () => hiddenHooks.delete(hook); };
document.addEventListener('visibilitychange', () => {
  const visible = document.visibilityState === 'visible';
  for (const p of pollers) (visible ? p.wake : p.sleep)();
  for (const h of hiddenHooks) h(visible);
});
