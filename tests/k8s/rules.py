#!/usr/bin/env python3
"""Rules the rendered arrears manifests must keep (python3 stdlib only).

Input: the objects of one rendered overlay as JSON, one per line (what
`yq -o=json -I=0 .` prints for a multi-document YAML stream).

    tests/k8s/rules.py --name prod [--prod] [--conventions docs/conventions.md] < objects.jsonl

Expectations that the services fix (consumer groups, ports, topics, what each
service consumes and produces) are read from docs/conventions.md, so the
manifests are checked against the same table the C code follows. Prints one
line per failed rule as "FAIL <rule> <object>: <why>" and a closing line
"rules <name>: N checked, N failed"; exits 1 if any rule failed.

Rules (ids as printed). Workloads are the arrears services (arrears-*) and
the backing services a component brings (components/redis-cluster: a
StatefulSet, a Job); the arrears-only rules say so.
  probes       every container of a service has an httpGet liveness probe on
               /healthz and readiness probe on /readyz at its http port; of a
               backing service, a liveness and a readiness probe of any kind;
               a Job's, none
  resources    requests and limits for cpu and memory
  nonroot      runAsNonRoot true (pod or container), never runAsUser 0
  rofs         readOnlyRootFilesystem true
  caps         capabilities drop ALL, nothing added, no privilege escalation
  grace        terminationGracePeriodSeconds set and > the 10 s drain time
               (not Jobs)
  spread       topologySpreadConstraints present (not Jobs)
  pdb          a PodDisruptionBudget selects every workload but Jobs
  metrics      a Service selects every Deployment on its http port
  http         ARREARS_HTTP_ADDR = 0.0.0.0:<the service's port> = containerPort
  public       any other ARREARS_*_ADDR listener (the gateway's public one) =
               0.0.0.0:<containerPort "public">, and never the http port
  group        ARREARS_GROUP_ID set (services that consume)
  secrets      Redis URL, Kafka SASL password and provider credentials come
               from Secrets, never literal values (a Redis URL may be a value
               whose password is exactly $(VAR) of a variable set from a
               Secret before it: Kubernetes expands only earlier ones); a
               service that consumes
               nothing (the gateway) holds no state: no Redis URL
  deployment   every service of docs/conventions.md has a Deployment
  hpa          a service that consumes nothing is scaled by an autoscaling/v2
               HorizontalPodAutoscaler on CPU (min >= 1, max >= min), never
               by a ScaledObject (it has no lag)
  netpol       with NetworkPolicies: default deny covers every pod; every
               containerPort is let in by some policy; the http (health,
               metrics) port only from namespaces, never from anywhere; a
               stateless service has no egress to Redis (6379)
  exposure     an Ingress routes only to Service ports that end on a
               container's "public" port, never on the http port
  monitor      with ServiceMonitors: every Deployment's metrics Service is
               selected by one, on a port of that Service's; none selects a
               Service of a public port
  settings     every ARREARS_* variable is one the services know
  secret-files the gateway's credential files (ARREARS_GATEWAY_TOKENS_FILE,
               _TENANTS_FILE with the link keys, _TWILIO_FILE,
               _WEBHOOK_SECRETS_FILE) lie in a mounted Secret volume (a
               secret, or a projected volume of secrets only), never a
               ConfigMap or the image
  clock        ARREARS_CLOCK unset in prod
  config       ARREARS_POLICY / ARREARS_TEMPLATES_DIR are mounted ConfigMaps
  keda-group   ScaledObject consumerGroup == the target's ARREARS_GROUP_ID
  keda-min     minReplicaCount >= 1
  keda-max     maxReplicaCount <= partitions of every topic it scales on
  keda-topic   trigger topic is one the service consumes (with prefix)
  keda-ref     target, container and TriggerAuthentication exist; every
               consuming service but a singleton has a ScaledObject
  singleton    a service that must run as exactly one copy (the reporter:
               it assigns itself every partition, docs/reporter.md) has
               replicas 1 (or unset), strategy Recreate, and no ScaledObject
               or HorizontalPodAutoscaler that could scale it past one
  topics       a KafkaTopic for every topic, named with the prefix
  acls         a KafkaUser per service with Read on its group and topics and
               Write on the topics it produces
  redis-cluster  a StatefulSet of redis-server in cluster mode (cluster-enabled
               yes in its mounted config or arguments) has replicas >= 6 (3
               masters with a replica each: --cluster-replicas 1 refuses
               fewer) and a headless Service as serviceName; every service
               that holds state has ARREARS_REDIS_URL in the cluster form
               redis+cluster://...@<its pods>, seeds naming only its pods
"""
import argparse, json, os, re, sys

DRAIN_SECONDS = 10
DEFAULT_PARTITIONS = 6
SECRET_ENV = {"ARREARS_REDIS_URL", "ARREARS_KAFKA_SASL_PASSWORD", "ARREARS_SMTP_URL",
              "ARREARS_SMTP_USER", "ARREARS_SMTP_PASSWORD", "ARREARS_SMS_URL",
              "ARREARS_SMS_ACCOUNT", "ARREARS_SMS_TOKEN", "ARREARS_WEBHOOK_SECRET",
              "ARREARS_PAYLINK_SECRET"}
# Service-specific settings besides the shared ones (docs/<service>.md).
SERVICE_ENV = {"ARREARS_POLICY", "ARREARS_TEMPLATES_DIR",
               "ARREARS_GATEWAY_ADDR", "ARREARS_GATEWAY_TOKENS_FILE", "ARREARS_GATEWAY_RATE",
               "ARREARS_GATEWAY_MAX_BODY", "ARREARS_GATEWAY_BATCH_MAX",
               "ARREARS_GATEWAY_DELIVERY_TIMEOUT", "ARREARS_GATEWAY_TENANTS_FILE",
               "ARREARS_GATEWAY_TWILIO_FILE", "ARREARS_GATEWAY_WEBHOOK_SECRETS_FILE",
               "ARREARS_GATEWAY_PUBLIC_URL", "ARREARS_GATEWAY_PAGE_RATE",
               # the notifier's links to the gateway (docs/notifier.md)
               "ARREARS_GATEWAY_URL", "ARREARS_LINK_KEY_ID", "ARREARS_LINK_VALID_DAYS"} | SECRET_ENV
# Settings that name a file of credentials: it must come from a Secret.
SECRET_FILE_ENV = ("ARREARS_GATEWAY_TOKENS_FILE", "ARREARS_GATEWAY_TENANTS_FILE",
                   "ARREARS_GATEWAY_TWILIO_FILE", "ARREARS_GATEWAY_WEBHOOK_SECRETS_FILE")
REDIS_PORT = 6379
# redis-cli --cluster create --cluster-replicas 1 needs 3 masters and 3 replicas.
REDIS_CLUSTER_MIN = 6
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Services that must run as exactly one copy, and why (docs/<service>.md).
SINGLETONS = {"reporter": "assigns itself every partition: a second copy publishes duplicate reports"}


def parse_conventions(path):
    """Services (group, port, consumes, produces), topics and shared settings."""
    text = open(path, encoding="utf-8").read()
    topics_m = re.search(r"partitions default (\d+):\s*(.*?)\n\n", text, re.S)
    partitions = int(topics_m.group(1))
    topics = re.findall(r"`([a-z.]+)`", topics_m.group(2))
    services = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("bin/arrears-"):
            svc = cells[0]
            words = lambda cell: [w for w in re.findall(r"[a-z][a-z.]*[a-z]", cell) if w in topics]
            services[svc] = {
                "group": cells[2] if cells[2].startswith("arrears-") else None,
                "consumes": words(cells[3]),
                "produces": words(re.sub(r"\(.*?\)", "", cells[4])),
                "port": int(cells[5].rsplit(":", 1)[1]),
            }
    settings = set(re.findall(r"^\| (ARREARS_[A-Z_]+) \|", text, re.M))
    return services, topics, partitions, settings


class Checker:
    def __init__(self, objs, conv, prod):
        self.objs = [o for o in objs if isinstance(o, dict) and o.get("kind")]
        self.services, self.topics, self.partitions, self.settings = conv
        self.prod = prod
        self.checked = 0
        self.failures = []

    # -- helpers -----------------------------------------------------------
    def check(self, rule, obj, ok, why):
        self.checked += 1
        if not ok:
            self.failures.append((rule, obj, why))
        return ok

    def of(self, kind):
        return [o for o in self.objs if o["kind"] == kind]

    def find(self, kind, name):
        for o in self.of(kind):
            if o["metadata"].get("name") == name:
                return o
        return None

    @staticmethod
    def ident(o):
        return "%s/%s" % (o["kind"], o["metadata"].get("name", "?"))

    def env_of(self, container):
        """Resolved environment: name -> ("value", v) | ("secret", ref) | ("configmap", v)."""
        env = {}
        for src in container.get("envFrom") or []:
            if "configMapRef" in src:
                cm = self.find("ConfigMap", src["configMapRef"]["name"])
                for k, v in ((cm or {}).get("data") or {}).items():
                    env[(src.get("prefix") or "") + k] = ("configmap", v)
            if "secretRef" in src:
                env["@secret:" + src["secretRef"]["name"]] = ("secretRef", src["secretRef"]["name"])
        for e in container.get("env") or []:
            if "value" in e:
                env[e["name"]] = ("value", e["value"])
            elif "secretKeyRef" in (e.get("valueFrom") or {}):
                env[e["name"]] = ("secret", e["valueFrom"]["secretKeyRef"])
            else:
                env[e["name"]] = ("ref", e.get("valueFrom"))
        return env

    @staticmethod
    def expands_secret(container, name):
        """name is a URL value whose password is exactly $(VAR), VAR set
        from a Secret earlier in env (Kubernetes leaves a later one as is)."""
        env = container.get("env") or []
        at = [i for i, e in enumerate(env) if e.get("name") == name]
        if not at:
            return False
        m = re.match(r"[a-z+]+://[^:@/]*:\$\(([A-Za-z_][A-Za-z0-9_]*)\)@", env[at[0]].get("value") or "")
        return bool(m) and any(e.get("name") == m.group(1) and "secretKeyRef" in (e.get("valueFrom") or {})
                               for e in env[:at[0]])

    def service_of(self, dep):
        name = dep["metadata"].get("name", "")
        return name[len("arrears-"):] if name.startswith("arrears-") else name

    def prefix(self):
        cm = [o for o in self.of("ConfigMap") if "ARREARS_TOPIC_PREFIX" in (o.get("data") or {})]
        return cm[0]["data"]["ARREARS_TOPIC_PREFIX"] if cm else "arrears."

    @staticmethod
    def selects(selector, labels):
        ml = (selector or {}).get("matchLabels", selector or {})
        return bool(ml) and all(labels.get(k) == v for k, v in ml.items())

    @staticmethod
    def label_selects(selector, labels):
        """A metav1.LabelSelector (matchLabels and matchExpressions); {} selects all."""
        sel = selector or {}
        if not all(labels.get(k) == v for k, v in (sel.get("matchLabels") or {}).items()):
            return False
        for e in sel.get("matchExpressions") or []:
            k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
            if not {"In": lambda: labels.get(k) in vals, "NotIn": lambda: labels.get(k) not in vals,
                    "Exists": lambda: k in labels, "DoesNotExist": lambda: k not in labels}.get(op, lambda: False)():
                return False
        return True

    def stateless(self, svc):
        """A service that consumes nothing: no group, no Redis, no lag."""
        conv = self.services.get(svc)
        return conv is not None and not conv["consumes"]

    # -- workloads ---------------------------------------------------------
    @staticmethod
    def arrears(o):
        """An arrears service's workload (else a component's backing service)."""
        return o["metadata"].get("name", "").startswith("arrears-")

    def workloads(self):
        for dep in [o for o in self.objs if o["kind"] in POD_KINDS]:
            tmpl = dep["spec"]["template"]
            pod = tmpl["spec"]
            svc = self.service_of(dep)
            conv = self.services.get(svc)
            d = self.ident(dep)
            psc = pod.get("securityContext") or {}
            labels = tmpl["metadata"].get("labels") or {}
            job = dep["kind"] == "Job"
            if not job:  # a one-shot pod has nothing to drain, spread or keep up
                tgp = pod.get("terminationGracePeriodSeconds")
                self.check("grace", d, isinstance(tgp, int) and tgp > DRAIN_SECONDS,
                           "terminationGracePeriodSeconds %r must be set and exceed the %d s drain" % (tgp, DRAIN_SECONDS))
                self.check("spread", d, bool(pod.get("topologySpreadConstraints")), "no topologySpreadConstraints")
                self.check("pdb", d, any(self.selects(p["spec"].get("selector"), labels) for p in self.of("PodDisruptionBudget")),
                           "no PodDisruptionBudget selects its pods")
            for c in (pod.get("initContainers") or []) + pod["containers"]:
                self.container(d, svc, conv, pod, psc, c, labels, self.arrears(dep), job)

    def container(self, d, svc, conv, pod, psc, c, labels, arrears=True, job=False):
        where = "%s container %s" % (d, c.get("name"))
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
        for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            if arrears:
                probe = (c.get(kind) or {}).get("httpGet") or {}
                self.check("probes", where, probe.get("path") == path and probe.get("port") in (list(ports) + list(ports.values())),
                           "%s must be httpGet %s on a declared port (got %r)" % (kind, path, probe or c.get(kind)))
            elif not job:
                self.check("probes", where, any(h in (c.get(kind) or {}) for h in ("exec", "tcpSocket", "httpGet", "grpc")),
                           "%s missing" % kind)
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            have = res.get(part) or {}
            self.check("resources", where, "cpu" in have and "memory" in have,
                       "resources.%s must set cpu and memory (got %r)" % (part, have))
        sc = c.get("securityContext") or {}
        nonroot = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        self.check("nonroot", where, nonroot is True and uid != 0, "runAsNonRoot must be true (got %r, runAsUser %r)" % (nonroot, uid))
        self.check("rofs", where, sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
        caps = sc.get("capabilities") or {}
        self.check("caps", where, "ALL" in (caps.get("drop") or []) and not caps.get("add")
                   and sc.get("allowPrivilegeEscalation") is False and not sc.get("privileged"),
                   "must drop ALL capabilities, add none, allowPrivilegeEscalation false (got %r)" % sc)
        if conv is None:
            if arrears:
                self.check("settings", where, False, "'%s' is not a service in docs/conventions.md" % svc)
            return
        env = self.env_of(c)
        addr = env.get("ARREARS_HTTP_ADDR", (None, None))[1]
        want = "0.0.0.0:%d" % conv["port"]
        self.check("http", where, addr == want and ports.get("http") == conv["port"],
                   "ARREARS_HTTP_ADDR %r and containerPort http %r must be %s" % (addr, ports.get("http"), want))
        self.check("metrics", where, any(self.selects(s["spec"].get("selector"), labels)
                                         and any(p.get("targetPort") in ("http", conv["port"]) for p in s["spec"].get("ports", []))
                                         for s in self.of("Service")),
                   "no Service exposes its http port")
        for name in sorted(n for n in env if re.fullmatch(r"ARREARS_[A-Z]+_ADDR", n) and n != "ARREARS_HTTP_ADDR"):
            self.check("public", where, env[name][1] == "0.0.0.0:%s" % ports.get("public")
                       and ports.get("public") != conv["port"],
                       "%s %r must be 0.0.0.0:<containerPort public %r>, apart from the http port"
                       % (name, env[name][1], ports.get("public")))
        if conv["group"]:
            self.check("group", where, env.get("ARREARS_GROUP_ID", ("", ""))[0] in ("value", "configmap"),
                       "ARREARS_GROUP_ID must be set")
        from_secret = lambda name: env.get(name, ("",))[0] == "secret" or (
            name == "ARREARS_REDIS_URL" and self.expands_secret(c, name))
        for name in sorted(SECRET_ENV & set(env)):
            self.check("secrets", where, from_secret(name), "%s must come from a Secret, not a literal%s" % (
                name, " (a URL value: its password exactly $(VAR), VAR set from a Secret before it)"
                if name == "ARREARS_REDIS_URL" else ""))
        for name in ("ARREARS_KAFKA_SASL_PASSWORD",) + (() if self.stateless(svc) else ("ARREARS_REDIS_URL",)):
            self.check("secrets", where, from_secret(name), "%s must be set from a Secret" % name)
        if self.stateless(svc):
            self.check("secrets", where, "ARREARS_REDIS_URL" not in env,
                       "%s consumes nothing and holds no state: no ARREARS_REDIS_URL" % svc)
        for name in sorted(n for n in env if n.startswith("ARREARS_")):
            self.check("settings", where, name in self.settings or name in SERVICE_ENV or name.startswith("ARREARS_KAFKA_"),
                       "%s is not a setting the services know (docs/conventions.md)" % name)
        if self.prod:
            self.check("clock", where, "ARREARS_CLOCK" not in env, "ARREARS_CLOCK must be unset in prod")
        mounts = {m["mountPath"].rstrip("/"): m["name"] for m in c.get("volumeMounts") or []}
        vols = {v["name"]: v for v in pod.get("volumes") or []}
        for var, is_dir, need in (("ARREARS_POLICY", False, svc == "scheduler"), ("ARREARS_TEMPLATES_DIR", True, svc == "notifier")):
            if var not in env and not need:
                continue
            path = env.get(var, (None, ""))[1] or ""
            mdir = path.rstrip("/") if is_dir else os.path.dirname(path)
            vol = vols.get(mounts.get(mdir, ""), {})
            self.check("config", where, bool(path) and "configMap" in vol,
                       "%s=%r must lie in a mounted ConfigMap" % (var, path))
        if svc == "notifier":
            self.check("secrets", where, any(k.startswith("@secret:") for k in env) or "ARREARS_SMTP_URL" in env,
                       "provider credentials must come from a Secret")
        for var in SECRET_FILE_ENV:
            path = env.get(var, (None, ""))[1] or ""
            if not path:
                continue
            vol = vols.get(mounts.get(os.path.dirname(path), ""), {})
            sources = (vol.get("projected") or {}).get("sources") or []
            if "secret" in vol:
                items = [vol["secret"]]
            elif sources and all("secret" in s for s in sources):
                items = [s["secret"] for s in sources]
            else:
                items = []
            paths = [i["path"] for s in items for i in (s.get("items") or [])]
            self.check("secret-files", where,
                       bool(items) and (os.path.basename(path) in paths
                                        or any(not s.get("items") for s in items)),
                       "%s=%r must lie in a mounted Secret volume" % (var, path))

    # -- KEDA --------------------------------------------------------------
    def keda(self):
        prefix = self.prefix()
        parts = {o["spec"].get("topicName", o["metadata"]["name"]): o["spec"].get("partitions", self.partitions)
                 for o in self.of("KafkaTopic")}
        scaled = set()
        for so in self.of("ScaledObject"):
            s = self.ident(so)
            spec = so["spec"]
            ref = spec.get("scaleTargetRef") or {}
            dep = self.find(ref.get("kind", "Deployment"), ref.get("name"))
            if not self.check("keda-ref", s, dep is not None, "scaleTargetRef %r not in the render" % ref.get("name")):
                continue
            scaled.add(dep["metadata"]["name"])
            svc = self.service_of(dep)
            containers = dep["spec"]["template"]["spec"]["containers"]
            cname = ref.get("envSourceContainerName", containers[0]["name"])
            cont = [c for c in containers if c["name"] == cname]
            if not self.check("keda-ref", s, bool(cont), "envSourceContainerName %r not in %s" % (cname, self.ident(dep))):
                continue
            env = self.env_of(cont[0])
            group = env.get("ARREARS_GROUP_ID", (None, None))[1]
            mn, mx = spec.get("minReplicaCount"), spec.get("maxReplicaCount")
            self.check("keda-min", s, isinstance(mn, int) and mn >= 1, "minReplicaCount %r must be >= 1" % mn)
            consumes = [prefix + t for t in self.services.get(svc, {}).get("consumes", [])]
            for trig in spec.get("triggers") or []:
                if trig.get("type") != "kafka":
                    continue
                md = trig.get("metadata") or {}
                t = "%s trigger %s" % (s, trig.get("name", md.get("topic")))
                self.check("keda-group", t, md.get("consumerGroup") == group and group is not None,
                           "consumerGroup %r != ARREARS_GROUP_ID %r of %s" % (md.get("consumerGroup"), group, self.ident(dep)))
                topic = md.get("topic")
                self.check("keda-topic", t, topic in consumes, "topic %r is not one %s consumes %r" % (topic, svc, consumes))
                p = parts.get(topic, self.partitions)
                self.check("keda-max", t, isinstance(mx, int) and mx <= p,
                           "maxReplicaCount %r exceeds the %d partitions of %r" % (mx, p, topic))
                self.check("keda-ref", t, "lagThreshold" in md, "lagThreshold missing")
                auth = (trig.get("authenticationRef") or {}).get("name")
                ta = self.find("TriggerAuthentication", auth) if auth else None
                if auth and self.check("keda-ref", t, ta is not None, "TriggerAuthentication %r not in the render" % auth):
                    for e in ta["spec"].get("env") or []:
                        self.check("keda-ref", t, e.get("containerName", cname) == cname and e["name"] in env,
                                   "TriggerAuthentication env %s not in container %s" % (e["name"], cname))
        if self.of("ScaledObject"):
            for dep in self.of("Deployment"):
                svc = self.service_of(dep)
                if svc in SINGLETONS:
                    continue
                if svc in self.services and not self.stateless(svc):
                    self.check("keda-ref", self.ident(dep), dep["metadata"]["name"] in scaled, "no ScaledObject for its consumer group")
                elif svc in self.services:
                    self.check("hpa", self.ident(dep), dep["metadata"]["name"] not in scaled,
                               "consumes nothing: a ScaledObject has no lag to follow (use the CPU HPA)")

    # -- deployments, HPA --------------------------------------------------
    def deployments(self):
        deps = {self.service_of(d): d for d in self.of("Deployment")}
        for svc in sorted(self.services):
            self.check("deployment", "service " + svc, svc in deps, "no Deployment arrears-%s" % svc)
        hpas = self.of("HorizontalPodAutoscaler")
        for svc, dep in sorted(deps.items()):
            if not self.stateless(svc):
                continue
            d = self.ident(dep)
            mine = [h for h in hpas if (h["spec"].get("scaleTargetRef") or {}).get("name") == dep["metadata"]["name"]
                    and (h["spec"].get("scaleTargetRef") or {}).get("kind") == "Deployment"]
            if not self.check("hpa", d, len(mine) == 1, "needs exactly one HorizontalPodAutoscaler (got %d)" % len(mine)):
                continue
            h = mine[0]["spec"]
            mn, mx = h.get("minReplicas", 1), h.get("maxReplicas")
            cpu = [m for m in h.get("metrics") or [] if m.get("type") == "Resource"
                   and (m.get("resource") or {}).get("name") == "cpu"]
            self.check("hpa", self.ident(mine[0]), mine[0].get("apiVersion") == "autoscaling/v2" and bool(cpu)
                       and isinstance(mn, int) and mn >= 1 and isinstance(mx, int) and mx >= mn,
                       "must be autoscaling/v2 on cpu with 1 <= minReplicas <= maxReplicas (got %r..%r)" % (mn, mx))

    def singletons(self):
        for dep in self.of("Deployment"):
            svc = self.service_of(dep)
            if svc not in SINGLETONS:
                continue
            d, name, why = self.ident(dep), dep["metadata"]["name"], SINGLETONS[svc]
            n = dep["spec"].get("replicas", 1)
            self.check("singleton", d, n == 1, "replicas %r: must run as exactly one copy (%s)" % (n, why))
            st = (dep["spec"].get("strategy") or {}).get("type", "RollingUpdate")
            self.check("singleton", d, st == "Recreate",
                       "strategy %s runs two copies during a rollout: use Recreate (%s)" % (st, why))
            for so in self.of("ScaledObject"):
                ref = so["spec"].get("scaleTargetRef") or {}
                if ref.get("name") == name and ref.get("kind", "Deployment") == "Deployment":
                    mx = so["spec"].get("maxReplicaCount", 100)  # KEDA's default
                    self.check("singleton", self.ident(so), mx == 1,
                               "maxReplicaCount %r scales %s past one copy (%s)" % (mx, name, why))
            for h in self.of("HorizontalPodAutoscaler"):
                ref = h["spec"].get("scaleTargetRef") or {}
                if ref.get("name") == name and ref.get("kind") == "Deployment":
                    mx = h["spec"].get("maxReplicas")
                    self.check("singleton", self.ident(h), mx == 1,
                               "maxReplicas %r scales %s past one copy (%s)" % (mx, name, why))

    # -- network policies, Ingress -------------------------------------------
    def pods(self):
        """(deployment id, service, pod labels, {port name: number}) of every Deployment."""
        for dep in self.of("Deployment"):
            tmpl = dep["spec"]["template"]
            ports = {}
            for c in tmpl["spec"]["containers"]:
                ports.update({p.get("name") or str(p["containerPort"]): p["containerPort"] for p in c.get("ports") or []})
            yield self.ident(dep), self.service_of(dep), tmpl["metadata"].get("labels") or {}, ports

    def netpol(self):
        pols = self.of("NetworkPolicy")
        if not pols:
            return
        for d, svc, labels, ports in self.pods():
            mine = [p for p in pols if self.label_selects(p["spec"].get("podSelector"), labels)]
            types = lambda p: p["spec"].get("policyTypes") or ["Ingress"]
            self.check("netpol", d, any(set(types(p)) >= {"Ingress", "Egress"} and not p["spec"].get("ingress")
                                        and not p["spec"].get("egress") for p in mine),
                       "no default-deny NetworkPolicy selects its pods")
            for name, num in sorted(ports.items()):
                peers = [r.get("from") for p in mine if "Ingress" in types(p) for r in p["spec"].get("ingress") or []
                         if not r.get("ports") or any(q.get("port") in (name, num) for q in r["ports"])]
                self.check("netpol", "%s port %s" % (d, name), bool(peers), "no NetworkPolicy lets traffic in")
                if name == "http":
                    self.check("netpol", "%s port %s" % (d, name), all(f and all("namespaceSelector" in x or "podSelector" in x
                                                                                  for x in f) for f in peers),
                               "the health/metrics port must be open to selected namespaces only, never to anywhere")
            if self.stateless(svc):
                redis = [p["metadata"]["name"] for p in mine if "Egress" in types(p) for r in p["spec"].get("egress") or []
                         if not r.get("ports") or any(q.get("port") == REDIS_PORT for q in r["ports"])]
                self.check("netpol", d, not redis, "holds no state, yet %s allow egress to Redis" % redis)

    def exposure(self):
        for ing in self.of("Ingress"):
            spec = ing["spec"]
            backs = [spec["defaultBackend"]] if spec.get("defaultBackend") else []
            for r in spec.get("rules") or []:
                backs += [p.get("backend") or {} for p in (r.get("http") or {}).get("paths") or []]
            for b in backs:
                ref = b.get("service") or {}
                svc = self.find("Service", ref.get("name"))
                w = "%s backend %s" % (self.ident(ing), ref.get("name"))
                if not self.check("exposure", w, svc is not None, "Service not in the render"):
                    continue
                want = (ref.get("port") or {})
                sp = [p for p in svc["spec"].get("ports") or [] if p.get("name") == want.get("name") or p.get("port") == want.get("number")]
                targets = {p.get("targetPort", p.get("port")) for p in sp}
                pub = {num for _, _, labels, ports in self.pods() if self.selects(svc["spec"].get("selector"), labels)
                       for name, num in ports.items() if name == "public"}
                self.check("exposure", w, bool(sp) and all(t == "public" or t in pub for t in targets),
                           "must route to a container's public port only, not %r" % sorted(map(str, targets)))

    # -- Strimzi -----------------------------------------------------------
    def strimzi(self):
        if not (self.of("KafkaTopic") or self.of("KafkaUser")):
            return
        prefix = self.prefix()
        names = {o["spec"].get("topicName", o["metadata"]["name"]): o for o in self.of("KafkaTopic")}
        for t in self.topics:
            kt = names.get(prefix + t)
            if self.check("topics", "KafkaTopic " + prefix + t, kt is not None, "missing (prefix %r)" % prefix):
                spec = kt["spec"]
                cfg = spec.get("config") or {}
                self.check("topics", self.ident(kt), spec.get("partitions", 0) >= 1 and "retention.ms" in cfg
                           and int(cfg.get("min.insync.replicas", 1)) <= spec.get("replicas", 1),
                           "needs partitions, retention.ms, and replicas >= min.insync.replicas")
        for svc, conv in sorted(self.services.items()):
            u = self.find("KafkaUser", "arrears-" + svc)
            if not self.check("acls", "KafkaUser arrears-" + svc, u is not None, "missing"):
                continue
            acls = ((u["spec"].get("authorization") or {}).get("acls")) or []
            def allowed(rtype, name, op):
                return any(a["resource"].get("type") == rtype and a["resource"].get("name") == name
                           and a["resource"].get("patternType", "literal") == "literal"
                           and op in (a.get("operations") or [a.get("operation")])
                           and a.get("type", "allow") == "allow" for a in acls)
            u_id = self.ident(u)
            if conv["group"]:
                self.check("acls", u_id, allowed("group", conv["group"], "Read"), "no Read on group %s" % conv["group"])
            for t in conv["consumes"]:
                self.check("acls", u_id, allowed("topic", prefix + t, "Read"), "no Read on %s%s" % (prefix, t))
            for t in conv["produces"]:
                self.check("acls", u_id, allowed("topic", prefix + t, "Write"), "no Write on %s%s" % (prefix, t))

    def monitor(self):
        mons = self.of("ServiceMonitor")
        if not mons:
            return
        def scraped(svc):
            labels = svc["metadata"].get("labels") or {}
            names = {p.get("name") for p in svc["spec"].get("ports") or []}
            return [m for m in mons if self.label_selects(m["spec"].get("selector"), labels)
                    and any(e.get("port") in names for e in m["spec"].get("endpoints") or [])]
        for d, svc_name, labels, ports in self.pods():
            mine = [s for s in self.of("Service") if self.selects(s["spec"].get("selector"), labels)]
            metrics = [s for s in mine if any(p.get("targetPort") in ("http", ports.get("http")) for p in s["spec"].get("ports") or [])]
            self.check("monitor", d, any(scraped(s) for s in metrics), "no ServiceMonitor scrapes its metrics Service")
            for s in mine:
                if any(p.get("targetPort") in ("public", ports.get("public")) for p in s["spec"].get("ports") or []):
                    self.check("monitor", self.ident(s), not scraped(s), "a public Service must not be scraped as metrics")

    # -- Redis Cluster -------------------------------------------------------
    def redis_cluster(self):
        for sts in self.of("StatefulSet"):
            spec = sts["spec"]
            pod = spec["template"]["spec"]
            conf = "\n".join(v for vol in pod.get("volumes") or []
                             for v in ((self.find("ConfigMap", (vol.get("configMap") or {}).get("name")) or {}).get("data") or {}).values())
            args = " ".join(str(a) for c in pod["containers"] for a in (c.get("command") or []) + (c.get("args") or []))
            if not (re.search(r"^\s*cluster-enabled\s+yes\b", conf, re.M) or re.search(r"--cluster-enabled\s+yes\b", args)):
                continue
            s, name, n = self.ident(sts), sts["metadata"]["name"], spec.get("replicas", 1)
            self.check("redis-cluster", s, isinstance(n, int) and n >= REDIS_CLUSTER_MIN,
                       "replicas %r: 3 masters with a replica each need %d (--cluster-replicas 1 refuses fewer)" % (n, REDIS_CLUSTER_MIN))
            hs = self.find("Service", spec.get("serviceName"))
            self.check("redis-cluster", s, hs is not None and hs["spec"].get("clusterIP") == "None",
                       "serviceName %r must be a headless Service in the render: its pods' DNS names are the seeds "
                       "and the names the nodes announce" % spec.get("serviceName"))
            pods = ["%s-%d.%s" % (name, i, spec.get("serviceName")) for i in range(n if isinstance(n, int) else 0)]
            for dep in self.of("Deployment"):
                svc = self.service_of(dep)
                if svc not in self.services or self.stateless(svc):
                    continue
                for c in dep["spec"]["template"]["spec"]["containers"]:
                    url = ([e.get("value") for e in c.get("env") or [] if e.get("name") == "ARREARS_REDIS_URL"] or [None])[0] or ""
                    seeds = [h.rsplit(":", 1)[0] for h in url.rsplit("@", 1)[-1].split("/")[0].split(",")]
                    ok = url.startswith("redis+cluster://") and all(any(h == p or h.startswith(p + ".") for p in pods) for h in seeds)
                    self.check("redis-cluster", "%s container %s" % (self.ident(dep), c.get("name")), ok,
                               "ARREARS_REDIS_URL must be the value redis+cluster://[user:$(VAR)@]<pods of %s>[,...] "
                               "(got %r)" % (s, url or "a Secret, unchecked"))

    def run(self):
        self.workloads()
        self.redis_cluster()
        self.deployments()
        self.singletons()
        self.netpol()
        self.exposure()
        self.monitor()
        self.keda()
        self.strimzi()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="manifests")
    ap.add_argument("--prod", action="store_true", help="apply production-only rules")
    ap.add_argument("--conventions", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "conventions.md"))
    ap.add_argument("file", nargs="?")
    a = ap.parse_args()
    src = open(a.file, encoding="utf-8") if a.file else sys.stdin
    objs = [json.loads(l) for l in src if l.strip()]
    ck = Checker(objs, parse_conventions(a.conventions), a.prod)
    if not ck.objs:
        print("FAIL input: no objects")
        return 1
    ck.run()
    for rule, obj, why in ck.failures:
        print("FAIL %s %s: %s" % (rule, obj, why))
    print("rules %s: %d checked, %d failed" % (a.name, ck.checked, len(ck.failures)))
    return 1 if ck.failures else 0


if __name__ == "__main__":
    sys.exit(main())
