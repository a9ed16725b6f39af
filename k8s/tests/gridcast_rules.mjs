// gridcast's own rules for a rendered overlay, beyond what the API schema
// can say: what the design and docs/operator-guide.md promise operators.
// Each returns a message naming the object and what is wrong.

const TRAINER = "gridcast-trainer";
const INFERENCE = "gridcast-inference";
const STORE_MOUNT = "/var/lib/gridcast/store";
// The health name an inference replica reports SERVING only once its first
// load has ended; "" is SERVING as soon as the process listens.
const INFERENCE_SERVICE = "gridcast.v1.ForecasterService";

function find(objects, kind, name) {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

function matches(selector, labels) {
  return Object.entries(selector || {})
      .every(([key, value]) => (labels || {})[key] === value);
}

// The ConfigMap that a container takes its GRIDCAST_* variables from.
function configOf(objects, container) {
  const reference = (container.envFrom || [])
      .map((source) => source.configMapRef && source.configMapRef.name)
      .find((name) => name);
  return objects.find((o) => o.kind === "ConfigMap" &&
                             o.metadata.name === reference);
}

function preStopSeconds(container) {
  const command = (((container.lifecycle || {}).preStop || {}).exec || {})
      .command || [];
  return command.length === 2 && command[0] === "/bin/sleep" ?
      Number(command[1]) : 0;
}

function checkPod(objects, deployment, errors) {
  const where = `Deployment/${deployment.metadata.name}`;
  const pod = deployment.spec.template.spec;
  const podSecurity = pod.securityContext || {};
  if (podSecurity.runAsNonRoot !== true) {
    errors.push(`${where}: pod securityContext.runAsNonRoot must be true`);
  }
  if ((podSecurity.seccompProfile || {}).type !== "RuntimeDefault") {
    errors.push(`${where}: pod seccompProfile must be RuntimeDefault`);
  }

  for (const container of pod.containers) {
    const at = `${where} container ${container.name}`;
    const security = container.securityContext || {};
    if (security.allowPrivilegeEscalation !== false) {
      errors.push(`${at}: allowPrivilegeEscalation must be false`);
    }
    if (security.readOnlyRootFilesystem !== true) {
      errors.push(`${at}: readOnlyRootFilesystem must be true`);
    }
    if (!((security.capabilities || {}).drop || []).includes("ALL")) {
      errors.push(`${at}: capabilities must drop ALL`);
    }

    const ports = (container.ports || []).map((p) => p.containerPort);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const grpc = (container[probe] || {}).grpc;
      if (!grpc) {
        errors.push(`${at}: ${probe} must be a native gRPC probe`);
      } else if (!ports.includes(grpc.port)) {
        errors.push(`${at}: ${probe} asks port ${grpc.port}, not declared`);
      }
    }

    const resources = container.resources || {};
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (!(resources[kind] || {})[resource]) {
          errors.push(`${at}: resources.${kind}.${resource} is missing`);
        }
      }
    }

    // The kubelet's SIGKILL must come after the preStop pause and the
    // whole drain, and not long after it (a stuck pod should not linger).
    const config = configOf(objects, container);
    if (!config) {
      errors.push(`${at}: its envFrom ConfigMap is not in the overlay`);
      continue;
    }
    for (const variable of Object.keys(config.data || {})) {
      if (!variable.startsWith("GRIDCAST_")) {
        errors.push(`ConfigMap/${config.metadata.name}: ${variable} is not ` +
                    "a GRIDCAST_ flag variable");
      }
    }
    const drainMs = Number((config.data || {}).GRIDCAST_SHUTDOWN_GRACE_MS);
    if (!(drainMs > 0)) {
      errors.push(`${at}: GRIDCAST_SHUTDOWN_GRACE_MS is not set`);
      continue;
    }
    // The drain delay (0 when unset) comes before the grace period.
    const delayMs = Number((config.data || {}).GRIDCAST_DRAIN_DELAY_MS || 0);
    const needed = preStopSeconds(container) +
        Math.ceil((delayMs + drainMs) / 1000);
    const grace = pod.terminationGracePeriodSeconds;
    if (!(grace >= needed && grace <= needed + 15)) {
      errors.push(`${at}: terminationGracePeriodSeconds ${grace} does not ` +
                  `match preStop + drain delay + grace = ${needed} s ` +
                  "(allow up to +15 s)");
    }
  }
}

function storeMount(deployment) {
  const container = deployment.spec.template.spec.containers[0];
  const mount = (container.volumeMounts || [])
      .find((m) => m.mountPath === STORE_MOUNT);
  const volume = mount && (deployment.spec.template.spec.volumes || [])
      .find((v) => v.name === mount.name);
  return { mount, volume };
}

function checkTrainer(trainer, errors) {
  const where = `Deployment/${TRAINER}`;
  if (trainer.spec.replicas !== 1) {
    errors.push(`${where}: the store's only writer must have 1 replica`);
  }
  if ((trainer.spec.strategy || {}).type !== "Recreate") {
    errors.push(`${where}: strategy must be Recreate (never two writers)`);
  }
  const { mount } = storeMount(trainer);
  if (!mount) errors.push(`${where}: the store is not mounted`);
  else if (mount.readOnly) errors.push(`${where}: the store must be writable`);
}

// Readiness and startup wait for the first load; liveness must not, or a
// replica loading a large store would be restarted before it is done.
function checkInferenceProbes(inference, errors) {
  const container = inference.spec.template.spec.containers[0];
  const at = `Deployment/${INFERENCE} container ${container.name}`;
  const serviceOf = (probe) => ((container[probe] || {}).grpc || {}).service;
  for (const probe of ["startupProbe", "readinessProbe"]) {
    if (serviceOf(probe) !== INFERENCE_SERVICE) {
      errors.push(`${at}: ${probe} must ask for service ` +
                  `${INFERENCE_SERVICE}, not "${serviceOf(probe) || ""}"`);
    }
  }
  if (serviceOf("livenessProbe")) {
    errors.push(`${at}: livenessProbe must ask for the server ("") ` +
                `rather than service ${serviceOf("livenessProbe")}`);
  }
}

function checkInference(objects, inference, errors) {
  const where = `Deployment/${INFERENCE}`;
  checkInferenceProbes(inference, errors);
  const rolling = (inference.spec.strategy || {}).rollingUpdate || {};
  if (inference.spec.strategy.type !== "RollingUpdate" ||
      rolling.maxUnavailable !== 0) {
    errors.push(`${where}: must roll with maxUnavailable 0`);
  }
  const { mount, volume } = storeMount(inference);
  if (!mount || mount.readOnly !== true ||
      !volume || !volume.persistentVolumeClaim ||
      volume.persistentVolumeClaim.readOnly !== true) {
    errors.push(`${where}: the store must be mounted read-only`);
  }

  const podLabels = inference.spec.template.metadata.labels;
  const services = objects.filter((o) => o.kind === "Service" &&
                                         matches(o.spec.selector, podLabels));
  if (!services.some((s) => s.spec.clusterIP === "None")) {
    errors.push(`${where}: no headless Service (clusterIP: None) selects it`);
  }
  if (!services.some((s) => s.spec.clusterIP !== "None")) {
    errors.push(`${where}: no ClusterIP Service selects it`);
  }

  const hpa = objects.find((o) => o.kind === "HorizontalPodAutoscaler" &&
                                  o.spec.scaleTargetRef.name === INFERENCE);
  if (!hpa) errors.push(`${where}: no HorizontalPodAutoscaler scales it`);
  const pdb = objects.find((o) => o.kind === "PodDisruptionBudget" &&
      matches(o.spec.selector.matchLabels, podLabels));
  if (!pdb) errors.push(`${where}: no PodDisruptionBudget covers it`);
}

export function checkGridcastRules(objects) {
  const errors = [];
  const trainer = find(objects, "Deployment", TRAINER);
  const inference = find(objects, "Deployment", INFERENCE);
  if (!trainer || !inference) {
    return [`the overlay must hold Deployments ${TRAINER} and ${INFERENCE}`];
  }
  checkPod(objects, trainer, errors);
  checkPod(objects, inference, errors);
  checkTrainer(trainer, errors);
  checkInference(objects, inference, errors);

  const store = find(objects, "PersistentVolumeClaim", "gridcast-store");
  if (!store || !(store.spec.accessModes || []).includes("ReadWriteMany")) {
    errors.push("PersistentVolumeClaim/gridcast-store must be ReadWriteMany");
  }
  const namespaces = objects.filter((o) => o.kind === "Namespace");
  if (namespaces.length !== 1 || objects.some((o) =>
        o.kind !== "Namespace" &&
        o.metadata.namespace !== namespaces[0].metadata.name)) {
    errors.push("every object must live in the overlay's one Namespace");
  }
  const selectsAll = (policy) =>
      Object.keys(policy.spec.podSelector || {}).length === 0;
  if (!objects.some((o) => o.kind === "NetworkPolicy" && selectsAll(o))) {
    errors.push("no default-deny NetworkPolicy for the namespace");
  }
  return errors;
}
