import t from 'tap';
import { faassUnitOf } from '../../src/faassctl/status';

const mine = '/user.slice/user-1000.slice/user@1000.service';

t.test('a process of one of our units, cgroup v2 and v1', async (t) => {
  t.equal(faassUnitOf(`0::${mine}/app.slice/faass-fn-echo.service\n`, mine), 'faass-fn-echo.service');
  t.equal(faassUnitOf(`12:pids:${mine}/app.slice/faass-fn-echo.service\n1:name=systemd:${mine}/app.slice/faass-gateway.service\n0::/\n`, mine), 'faass-gateway.service', 'v1: the systemd hierarchy');
  t.equal(faassUnitOf(`0::${mine}/app.slice/faass-fn-web-app.service/init\n`, mine), 'faass-fn-web-app.service', 'a sub-cgroup of the unit');
});

t.test("not ours: another user's or another manager's faass, other units, other controllers", async (t) => {
  t.equal(faassUnitOf('0::/user.slice/user-1001.slice/user@1001.service/app.slice/faass-gateway.service\n', mine), null, "another user's gateway");
  t.equal(faassUnitOf(`0::/other.slice${mine}/app.slice/faass-gateway.service\n`, mine), null, 'a manager elsewhere with the same path inside');
  t.equal(faassUnitOf(`0::${mine}/app.slice/nginx.service\n`, mine), null);
  t.equal(faassUnitOf(`4:memory:${mine}/app.slice/faass-gateway.service\n0::/\n`, mine), null, 'only the systemd or unified hierarchy counts');
  t.equal(faassUnitOf(`0::${mine}-x/app.slice/faass-gateway.service\n`, mine), null, 'a prefix of the path is not the manager');
});
