// A faass function as plain Kubernetes objects (faassctl export --to kubernetes), for clusters
// without Knative: an apps/v1 Deployment, a v1 Service (ClusterIP: reached only inside the
// cluster) and an autoscaling/v2 HorizontalPodAutoscaler, and a batch/v1 CronJob per schedule
// that POSTs to the Service. No scale to zero: mapping.ts reports it. Pure.
import { cronOf } from '../functions/cron';
import { Schedule } from '../functions/schedules';
import { ExportFunction, notMapped } from './mapping';
import { Doc, ExportOptions, Exported, IMAGE_PORT, envList, imageOf, imageProbes, labelsOf, objectName, resourcesOf, secretCommands, secretVolume, uncronable } from './common';
import { READY_PATH } from '../image/layout';

// The image a CronJob calls the function with: pinned, so a schedule does not change under it.
export const CURL_IMAGE = 'curlimages/curl:8.11.1';
// The autoscaler's bounds and target: faass has no setting for them (one host, one runner).
const HPA = { minReplicas: 1, maxReplicas: 10, cpuUtilization: 80 };
const CRONJOB_NAME_MAX = 52;

function deployment(f: ExportFunction, o: ExportOptions): Doc {
  const { cfg } = f;
  const { volumes, volumeMounts } = secretVolume(f);
  const selector = { 'app.kubernetes.io/name': cfg.name };
  // A service's app may take ready_timeout to get ready: the pod is given that long, then restarted.
  const startup = cfg.kind === 'service' ? { startupProbe: { httpGet: { path: READY_PATH, port: IMAGE_PORT }, periodSeconds: 1, failureThreshold: Math.ceil(cfg.readyTimeout) } } : {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: cfg.name, labels: labelsOf(cfg.name) },
    spec: {
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labelsOf(cfg.name) },
        spec: {
          containers: [
            {
              name: 'function',
              image: imageOf(f, o),
              ports: [{ name: 'http', containerPort: IMAGE_PORT }],
              env: [{ name: 'PORT', value: String(IMAGE_PORT) }, ...envList(Object.fromEntries(Object.entries(cfg.env).filter(([k]) => k !== 'PORT')))],
              resources: resourcesOf(f, true),
              ...imageProbes(),
              ...startup,
              ...(volumeMounts.length ? { volumeMounts } : {}),
            },
          ],
          ...(volumes.length ? { volumes } : {}),
        },
      },
    },
  };
}

const service = (f: ExportFunction): Doc => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: f.cfg.name, labels: labelsOf(f.cfg.name) },
  spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/name': f.cfg.name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
});

const autoscaler = (f: ExportFunction): Doc => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: f.cfg.name, labels: labelsOf(f.cfg.name) },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: f.cfg.name },
    minReplicas: HPA.minReplicas,
    maxReplicas: HPA.maxReplicas,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: HPA.cpuUtilization } } }],
  },
});

function cronJob(f: ExportFunction, s: Schedule, cron: string): Doc {
  const call = ['-fsS', '-X', 'POST', ...(s.body ? ['--data-binary', s.body] : []), `http://${f.cfg.name}/`];
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: objectName(f.cfg.name, `at-${s.id}`, CRONJOB_NAME_MAX), labels: labelsOf(f.cfg.name) },
    spec: {
      schedule: cron,
      timeZone: s.tz,
      concurrencyPolicy: s.overlap === 'skip' ? 'Forbid' : 'Allow',
      ...(s.catchUp === 'none' ? { startingDeadlineSeconds: 60 } : {}),
      jobTemplate: {
        spec: {
          backoffLimit: f.cfg.retries,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'call', image: CURL_IMAGE, args: call }] } },
        },
      },
    },
  };
}

export function toKubernetes(fns: readonly ExportFunction[], o: ExportOptions): Exported {
  const lines: string[] = [];
  const manifests = fns.map((f) => {
    const jobs: Doc[] = [];
    lines.push(...notMapped('kubernetes', f));
    for (const s of f.triggers.schedules) {
      const cron = cronOf(s.spec);
      if (cron === null) lines.push(uncronable(f, s, 'kubernetes'));
      else jobs.push(cronJob(f, s, cron));
    }
    return { file: `${f.cfg.name}.yaml`, docs: [deployment(f, o), service(f), autoscaler(f), ...jobs] };
  });
  return { manifests, notMapped: lines, secretCommands: secretCommands(fns) };
}
