// A node handler for the soak of asynchronous calls, shared by test/integration/queue-faults.test.ts
// and bench/queue-soak.js: it notes every delivery and fails (500) about a third of the first
// deliveries of a call id; GET answers how many deliveries it has noted. /dev/shm is its runner
// unit's own while the runner runs, shared by its worker threads.
'use strict';

const CHANCY_HANDLER = `const fs = require('node:fs');
module.exports = async (event) => {
  if (event.method === 'GET') return String(fs.readFileSync('/dev/shm/deliveries', 'utf8').split('\\n').filter(Boolean).length);
  const id = String(event.headers['x-call-id']).replace(/[^a-z0-9-]/g, '');
  fs.appendFileSync('/dev/shm/deliveries', id + ' ' + event.headers['x-faass-attempt'] + '\\n');
  try {
    fs.writeFileSync('/dev/shm/seen-' + id, '', { flag: 'wx' });
  } catch {
    return 'ok';
  }
  return Math.random() < 0.33 ? { statusCode: 500, body: 'first sight' } : 'ok';
};
`;

module.exports = { CHANCY_HANDLER };
