#!/usr/bin/env node
// Service benchmarks (kind=service): cold start after idle (a process app and a container app),
// and warm throughput through the gateway against the app itself in the same run. The stack is the
// one ./install.sh sets up, unless --checkout (the checkout's own: bench/lib.js).
// Usage: node bench/service.js [--quick] [--checkout]
'use strict';
const fs = require('node:fs');
const { BUSYBOX } = require('../test/support/docker-engine.js');
const { runBench, summary, round, progress, freePort, timedRequest, ab, wrk, chosenStack, waitUntil } = require('./lib.js');

const RUNS = process.argv.includes('--quick') ? 4 : 10;
const AB_N = process.argv.includes('--quick') ? 1000 : 3000;
const WRK_SECONDS = process.argv.includes('--quick') ? 2 : 5;

async function main() {
  const { m, port, close, stack } = await chosenStack({ gatewayIdle: 300, docker: true });
  try {
    const webPort = await freePort();
    const boxPort = await freePort();
    fs.mkdirSync(`${m.dir}/site`, { recursive: true });
    fs.writeFileSync(`${m.dir}/site/index.html`, 'hello\n');
    m.ctl('deploy', 'web', '--kind', 'service', '--port', String(webPort), '--command', 'busybox httpd -f -p 127.0.0.1:$PORT -h .', '--from-file', `${m.dir}/site`, '--idle', '1');
    m.ctl('deploy', 'box', '--kind', 'service', '--port', String(boxPort), '--runtime', 'docker', '--image', BUSYBOX, '--command', 'sh -c "echo hello > /tmp/index.html && exec busybox httpd -f -p 127.0.0.1:$PORT -h /tmp"', '--idle', '1');
    const inactive = (u) => ['inactive', 'failed'].includes(m.systemctl('show', u, '--property=ActiveState', '--value').trim());
    const cold = async (name) => {
      const ms = [];
      await timedRequest(port, `/function/${name}/index.html`, { method: 'GET' }); // creates the container once
      for (let i = 0; i < RUNS; i++) {
        await waitUntil(() => inactive(`faass-fn-${name}-app.service`) && inactive(`faass-fn-${name}.service`));
        const r = await timedRequest(port, `/function/${name}/index.html`, { method: 'GET' });
        if (r.status !== 200) throw new Error(`cold call to ${name} answered ${r.status}`);
        ms.push(r.ms);
      }
      return summary(ms);
    };
    progress('service cold starts');
    const result = { stack, faass: { process_service_cold_start: await cold('web'), container_service_cold_start: await cold('box') } };
    progress('warm throughput');
    // The reference app is a small Node HTTP server, as in the figures for of-watchdog,
    // deployed twice: in a network of its own (network=none, the default: the proxy reaches it
    // through a unix socket its unit forwards to the port) and on the host's network (one proxy
    // hop, and a port anyone on the host reaches: the direct baseline).
    const appPort = await freePort();
    const hostPort = await freePort();
    fs.mkdirSync(`${m.dir}/napp`, { recursive: true });
    fs.writeFileSync(`${m.dir}/napp/app.js`, "require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain' }); s.end('hello\\n'); }).listen(Number(process.env.PORT), '127.0.0.1');\n");
    m.ctl('deploy', 'napp', '--kind', 'service', '--port', String(appPort), '--command', `${process.execPath} app.js`, '--from-file', `${m.dir}/napp`, '--idle', '30');
    m.ctl('deploy', 'nhost', '--kind', 'service', '--network', 'host', '--port', String(hostPort), '--command', `${process.execPath} app.js`, '--from-file', `${m.dir}/napp`, '--idle', '30');
    for (const name of ['napp', 'nhost']) {
      const first = await timedRequest(port, `/function/${name}/`, { method: 'GET' });
      if (first.status !== 200) throw new Error(`${name} answered ${first.status}`);
    }
    const directUrl = `http://127.0.0.1:${hostPort}/`;
    const viaUrl = `http://127.0.0.1:${port}/function/napp/`;
    const viaHostUrl = `http://127.0.0.1:${port}/function/nhost/`;
    const direct = ab(directUrl, AB_N, 50, { get: true });
    const via = ab(viaUrl, AB_N, 50, { get: true });
    const viaHost = ab(viaHostUrl, AB_N, 50, { get: true });
    const directKa = wrk(directUrl, WRK_SECONDS, 50);
    const viaKa = wrk(viaUrl, WRK_SECONDS, 50);
    const viaHostKa = wrk(viaHostUrl, WRK_SECONDS, 50);
    result.baseline = { app_direct_ab_c50: direct, app_direct_wrk_c50: directKa };
    Object.assign(result.faass, { through_gateway_ab_c50: via, through_gateway_wrk_c50: viaKa, host_network_through_gateway_ab_c50: viaHost, host_network_through_gateway_wrk_c50: viaHostKa });
    result.ratios = {
      warm_gateway_over_direct: round(via.rps / direct.rps),
      warm_gateway_over_direct_keepalive: round(viaKa.rps / directKa.rps),
      own_network_over_host_network: round(via.rps / viaHost.rps),
      own_network_over_host_network_keepalive: round(viaKa.rps / viaHostKa.rps),
    };
    result.targets = { container_service_cold_start_p50_ms: '<= 300', warm_gateway_over_direct: '>= 0.6', warm_gateway_over_direct_keepalive: '>= 0.25' };
    result.notes = 'cold starts: busybox httpd as a process app (a network of its own) and in a container (host network). Warm throughput: a Node HTTP app (process), in a network of its own and on the host network (the direct baseline is the latter\'s port), no keep-alive with ab -c 50, keep-alive with wrk -c 50; all in the same run.';
    return result;
  } finally {
    await close();
  }
}

runBench(main);
