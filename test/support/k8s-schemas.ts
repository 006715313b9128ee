// Validates Kubernetes and Knative objects against their published OpenAPI schemas, through the
// maintained model packages (kubernetes-models, @kubernetes-models/knative; test-only, pinned in
// devDependencies): a manifest a cluster's API server would refuse for its shape fails here.
// The packages are ES modules: loaded with import() from these CommonJS tests.
type Model = new (data: Record<string, unknown>) => { validate(): void };

async function models(): Promise<Record<string, Model>> {
  const [core, apps, autoscaling, batch, serving, sources] = await Promise.all([
    import('kubernetes-models/v1'),
    import('kubernetes-models/apps/v1'),
    import('kubernetes-models/autoscaling/v2'),
    import('kubernetes-models/batch/v1'),
    import('@kubernetes-models/knative/serving.knative.dev/v1'),
    import('@kubernetes-models/knative/sources.knative.dev/v1'),
  ]);
  return {
    'v1/Service': core.Service as unknown as Model,
    'v1/Secret': core.Secret as unknown as Model,
    'apps/v1/Deployment': apps.Deployment as unknown as Model,
    'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler as unknown as Model,
    'batch/v1/CronJob': batch.CronJob as unknown as Model,
    'serving.knative.dev/v1/Service': serving.Service as unknown as Model,
    'sources.knative.dev/v1/PingSource': sources.PingSource as unknown as Model,
  };
}

// A function that throws, naming the object and the schema's complaint, for an object that does
// not validate, and for one of a kind it has no schema for (never passed unchecked).
export async function schemaValidator(): Promise<(doc: Record<string, unknown>) => void> {
  const byKind = await models();
  return (doc) => {
    const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
    const M = byKind[key];
    if (!M) throw new Error(`no schema here for ${key}`);
    try {
      new M(doc).validate();
    } catch (e) {
      throw new Error(`${key} ${String((doc.metadata as { name?: string } | undefined)?.name)}: ${(e as Error).message}`);
    }
  };
}
