// A stack's up, down and rollback touch the stack's own functions only (src/functions/stack-deploy.ts):
// a function of the same name deployed by hand, or taken over by another stack's up since, is left
// alone. In-process deploys with no manager, as secrets.test.ts.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../../src/core/paths';
import { FaassError } from '../../src/core/errors';
import { deployFunction } from '../../src/functions/deploy';
import { listFunctionNames, loadFunctionConfig } from '../../src/functions/function-config';
import { downStack, rollbackStack, upStack } from '../../src/functions/stack-deploy';
import { DeploySpec } from '../../src/functions/deploy-plan';
import { managerlessPaths } from '../support/temp-paths';

const tempPaths = (t: { teardown(f: () => void): void }): Paths => managerlessPaths(t, 'stack-owners');

const fn = (name: string, command = 'cat'): DeploySpec => ({ name, input: { runtime: 'exec', command } });
const commandOf = (paths: Paths, name: string) => loadFunctionConfig(paths, name).command;
const errorOf = async (f: () => Promise<unknown>): Promise<string> => {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? `${e.code}: ${e.message}` : String(e);
  }
};

t.test('down leaves a function of the same name deployed by hand', async (t) => {
  const paths = tempPaths(t);
  await deployFunction(paths, { name: 'hello', input: { runtime: 'exec', command: 'echo mine' } });
  await upStack(paths, 'shop', [fn('orders')], {});
  // The file names hello too, but its up never ran: hello is the user's, not the stack's.
  const r = await downStack(paths, 'shop', ['orders', 'hello']);
  t.same(r.deleted, ['orders']);
  t.same(listFunctionNames(paths), ['hello'], 'the hand-deployed hello is still there');
});

t.test("another stack's up takes a function over: the first stack's up, down and rollback leave it", async (t) => {
  const paths = tempPaths(t);
  await upStack(paths, 'a', [fn('orders', 'echo o1'), fn('web', 'echo w1')], {});
  await upStack(paths, 'a', [fn('orders', 'echo o2'), fn('web', 'echo w2')], {});
  await upStack(paths, 'b', [fn('orders', 'echo b1')], {}); // orders moves to stack b
  t.equal(await errorOf(() => rollbackStack(paths, 'a', {})), "FAASS_E_STACK_MEMBER_TAKEN: Stack a version 1 has orders, which stack b deployed since: faassctl up that stack's file, or down it, first", "a's rollback would change b's orders: refused, nothing changes");
  t.equal(commandOf(paths, 'web'), 'echo w2');
  await upStack(paths, 'a', [fn('web', 'echo w3')], {}); // orders left a's file
  t.equal(commandOf(paths, 'orders'), 'echo b1', "a's up does not delete b's orders");
  await downStack(paths, 'a', ['web']);
  t.same(listFunctionNames(paths), ['orders'], "a's down leaves b's orders");
  t.equal(commandOf(paths, 'orders'), 'echo b1');
  await downStack(paths, 'b', ['orders']);
  t.same(listFunctionNames(paths), [], "b's down removes it");
});

t.test("a stack rollback keeps what it rolled back its own, though the version's record is older", async (t) => {
  const paths = tempPaths(t);
  await upStack(paths, 'a', [fn('orders', 'echo o1'), fn('web', 'echo w1')], {});
  await upStack(paths, 'b', [fn('orders', 'echo b1')], {}); // b takes orders
  await upStack(paths, 'a', [fn('orders', 'echo o2'), fn('web', 'echo w2')], {}); // a takes it back
  await rollbackStack(paths, 'a', {}); // to a's version 1, recorded before b's
  t.equal(commandOf(paths, 'orders'), 'echo o1');
  await downStack(paths, 'b', ['orders']);
  t.same(listFunctionNames(paths), ['orders', 'web'], "b's down leaves orders, a's again since a's up");
});
