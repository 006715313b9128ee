// Baseline: a bare Node HTTP server. MODE=cat spawns `cat` per request (body in, stdout out);
// MODE=inprocess answers from the process itself. Usage: node bare-server.js PORT MODE
const http = require('node:http');
const { spawn } = require('node:child_process');
const [port, mode] = process.argv.slice(2);
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (mode === 'inprocess') {
        res.end('v1:' + body.toString());
        return;
      }
      const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
      const out = [];
      child.stdout.on('data', (d) => out.push(d));
      child.on('close', (code) => {
        res.statusCode = code === 0 ? 200 : 500;
        res.end(Buffer.concat(out));
      });
      child.stdin.end(body);
    });
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
