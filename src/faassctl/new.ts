// faassctl new NAME --lang node|python|exec: a directory with a handler, a test for it that runs
// with what the runtime already has (node --test, python3 -m unittest, sh), and a README saying
// how to run it here (faassctl invoke --local) and deploy it. Nothing is overwritten.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { Register } from './cli';

export const LANGS = ['node', 'python', 'exec'] as const;
type Lang = (typeof LANGS)[number];

interface Template {
  handler: string; // file name of the handler, deployed with --from-file DIR
  test: string; // file name of its test
  testCommand: string; // how to run the test, in the directory
  files: (name: string) => Record<string, string>;
}

const TEMPLATES: Record<Lang, Template> = {
  node: {
    handler: 'handler.js',
    test: 'handler.test.js',
    testCommand: 'node --test',
    files: (name) => ({
      'handler.js': `// ${name}: a faass node function (man faass-runner, "What a handler receives").
// event.body is the request body as text (event.rawBody as bytes, event.data parsed when it is
// JSON); event.method, event.path, event.query, event.headers. Return a string, a Buffer, an
// object (sent as JSON), or { statusCode, headers, body }.
exports.handler = async (event, context) => {
  const who = event.body.trim() || 'world';
  return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: \`hello \${who} from \${context.functionName}\\n\` };
};
`,
      'handler.test.js': `// Runs with node --test; faassctl invoke ${name} --local runs the handler as faass does.
const test = require('node:test');
const assert = require('node:assert');
const { handler } = require('./handler.js');

test('greets who the body names', async () => {
  const answer = await handler({ body: 'faass', method: 'POST', path: '/', query: '', headers: {} }, { functionName: '${name}' });
  assert.strictEqual(answer.statusCode, 200);
  assert.strictEqual(answer.body, 'hello faass from ${name}\\n');
});
`,
    }),
  },
  python: {
    handler: 'handler.py',
    test: 'test_handler.py',
    testCommand: 'python3 -m unittest',
    files: (name) => ({
      'handler.py': `# ${name}: a faass python function (man faass-runner, "What a handler receives").
# event["body"] is the request body as text; event["method"], ["path"], ["query"], ["headers"].
# Return a str, bytes, a dict or list (sent as JSON), or {"statusCode", "headers", "body"}.
def handle(event, context):
    who = event["body"].strip() or "world"
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "hello %s from %s\\n" % (who, context["functionName"])}
`,
      'test_handler.py': `# Runs with python3 -m unittest; faassctl invoke ${name} --local runs the handler as faass does.
import unittest
from handler import handle


class HandlerTest(unittest.TestCase):
    def test_greets_who_the_body_names(self):
        answer = handle({"body": "faass", "method": "POST", "path": "/", "query": "", "headers": {}}, {"functionName": "${name}"})
        self.assertEqual(answer["statusCode"], 200)
        self.assertEqual(answer["body"], "hello faass from ${name}\\n")


if __name__ == "__main__":
    unittest.main()
`,
    }),
  },
  exec: {
    handler: 'handler.sh',
    test: 'test.sh',
    testCommand: 'sh test.sh',
    files: (name) => ({
      'handler.sh': `#!/bin/sh
# ${name}: a faass exec function. The request body is on standard input, the answer is what it
# writes to standard output; Http_Method, Http_Path, Http_Query and Http_* headers are in its
# environment. A non-zero exit answers 500.
who=$(cat)
echo "hello \${who:-world} from ${name}"
`,
      'test.sh': `#!/bin/sh
# Runs with sh test.sh; faassctl invoke ${name} --local runs the handler as faass does.
set -eu
cd "$(dirname "$0")"
got=$(printf faass | sh handler.sh)
[ "$got" = "hello faass from ${name}" ] || { echo "FAIL: got '$got'" >&2; exit 1; }
echo ok
`,
    }),
  },
};

function readme(name: string, lang: Lang): string {
  const t = TEMPLATES[lang];
  const code = `--runtime ${lang} --from-file ${t.handler}`;
  return `# ${name}

A faass ${lang} function: \`${t.handler}\`, tested by \`${t.test}\`.

- Test it: \`${t.testCommand}\`
- Run it once, as faass runs it, without a gateway: \`faassctl invoke ${name} --local ${code} -d you\`
- Deploy it: \`faassctl deploy ${name} ${code}\`, then \`faassctl invoke ${name} -d you\`

With more files than the handler, deploy the directory: \`--from-file . --handler FILE.NAME\`.
`;
}

// Writes the files into dir (made if missing; refused when it holds anything): returns their names.
export function scaffold(name: string, lang: string, dir: string): string[] {
  validateName(name);
  if (!(LANGS as readonly string[]).includes(lang)) fail('FAASS_E_USAGE', `Invalid --lang ${JSON.stringify(lang)}: expected ${LANGS.join(', ')}`);
  const l = lang as Lang;
  const existing = fs.statSync(dir, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) fail('FAASS_E_USAGE', `${dir} exists and is not a directory`);
  if (existing && fs.readdirSync(dir).length > 0) fail('FAASS_E_USAGE', `${dir} is not empty; faassctl new writes into a new or empty directory only`);
  const files = { ...TEMPLATES[l].files(name), 'README.md': readme(name, l) };
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text, { mode: file.endsWith('.sh') ? 0o755 : 0o644, flag: 'wx' });
  return Object.keys(files);
}

export const register: Register = (y, cli) =>
  y.command(
    'new <name>',
    'write a new function: a handler, a test for it and a README, in a new directory',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'lowercase DNS label' })
        .option('lang', { type: 'string', demandOption: true, choices: LANGS as unknown as string[], describe: 'the runtime: node, python or exec (a shell script)' })
        .option('dir', { type: 'string', describe: 'where to write it (default: ./NAME)' }),
    (a) =>
      cli.run(() => {
        const dir = a.dir ?? a.name;
        const files = scaffold(a.name, a.lang, dir);
        process.stdout.write(`Wrote ${files.map((f) => path.join(dir, f)).join(', ')}\nTest it: cd ${dir} && ${TEMPLATES[a.lang as Lang].testCommand}\n`);
        return 0;
      }),
  );
