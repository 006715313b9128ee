// A faass function as Knative objects (faassctl export --to knative): a serving.knative.dev/v1
// Service that scales to zero as faass does, and a sources.knative.dev/v1 PingSource per
// schedule. Pure; mapping.ts says what maps where, and what this cannot map is reported there or
// here (a schedule cron cannot say, an env name Knative keeps for itself).
import { cronOf } from '../functions/cron';
import { ExportFunction, notMapped } from './mapping';
import { Doc, ExportOptions, Exported, IMAGE_PORT, envList, imageOf, imageProbes, labelsOf, objectName, resourcesOf, secretCommands, secretVolume, uncronable } from './common';

// Knative's default max-revision-timeout-seconds (config-defaults): a Service asking more is
// refused unless the cluster raised it.
const KNATIVE_MAX_TIMEOUT = 600;
// Knative sets these in every container and refuses a Service that sets them.
const KNATIVE_ENV = /^(PORT|K_SERVICE|K_CONFIGURATION|K_REVISION)$/;

function service(f: ExportFunction, o: ExportOptions): Doc {
  const { cfg } = f;
  const { volumes, volumeMounts } = secretVolume(f);
  const env = Object.fromEntries(Object.entries(cfg.env).filter(([k]) => !KNATIVE_ENV.test(k)));
  // A function callers must authenticate to stays inside the cluster (fail closed: Knative
  // cannot check faass's credentials, so it is not put on the public ingress).
  const visibility = cfg.auth.length ? { 'networking.knative.dev/visibility': 'cluster-local' } : {};
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: cfg.name, labels: { ...labelsOf(cfg.name), ...visibility } },
    spec: {
      template: {
        metadata: {
          annotations: {
            'autoscaling.knative.dev/min-scale': '0',
            'autoscaling.knative.dev/scale-to-zero-pod-retention-period': `${Math.ceil(cfg.idle)}s`,
          },
        },
        spec: {
          containerConcurrency: cfg.maxInflight,
          timeoutSeconds: Math.ceil(cfg.timeout),
          containers: [
            {
              name: 'function',
              image: imageOf(f, o),
              ports: [{ containerPort: IMAGE_PORT }],
              ...(Object.keys(env).length ? { env: envList(env) } : {}),
              resources: resourcesOf(f, false),
              ...imageProbes(),
              ...(volumeMounts.length ? { volumeMounts } : {}),
            },
          ],
          ...(volumes.length ? { volumes } : {}),
        },
      },
    },
  };
}

function pingSources(f: ExportFunction): { docs: Doc[]; notMapped: string[] } {
  const docs: Doc[] = [];
  const out: string[] = [];
  for (const s of f.triggers.schedules) {
    const cron = cronOf(s.spec);
    if (cron === null) {
      out.push(uncronable(f, s, 'knative'));
      continue;
    }
    docs.push({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      metadata: { name: objectName(f.cfg.name, `at-${s.id}`), labels: labelsOf(f.cfg.name) },
      spec: {
        schedule: cron,
        timezone: s.tz,
        ...(s.body ? { contentType: 'text/plain', data: s.body } : {}),
        sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: f.cfg.name } },
      },
    });
  }
  return { docs, notMapped: out };
}

export function toKnative(fns: readonly ExportFunction[], o: ExportOptions): Exported {
  const notMappedLines: string[] = [];
  const manifests = fns.map((f) => {
    const pings = pingSources(f);
    const reserved = Object.keys(f.cfg.env).filter((k) => KNATIVE_ENV.test(k));
    notMappedLines.push(...notMapped('knative', f), ...pings.notMapped, ...reserved.map((k) => `${f.cfg.name}: env ${k}: not mapped to knative: Knative sets ${k} itself`));
    if (f.cfg.timeout > KNATIVE_MAX_TIMEOUT) notMappedLines.push(`${f.cfg.name}: timeout=${f.cfg.timeout}: maps to knative only where the cluster's max-revision-timeout-seconds (${KNATIVE_MAX_TIMEOUT} by default, config-defaults) is raised to it`);
    return { file: `${f.cfg.name}.yaml`, docs: [service(f, o), ...pings.docs] };
  });
  return { manifests, notMapped: notMappedLines, secretCommands: secretCommands(fns) };
}
