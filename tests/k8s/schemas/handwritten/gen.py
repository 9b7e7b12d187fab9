#!/usr/bin/env python3
"""Hand-written kubeconform schemas for the CRDs whose upstream definitions no
package registry reachable from this project ships as data (KEDA's
ScaledObject and TriggerAuthentication, prometheus-operator's ServiceMonitor).

They follow the upstream CRDs' openAPIV3Schema (KEDA 2.16, prometheus-operator
0.80) for the fields arrears uses and for the sibling fields of every object
we use, with upstream types, enums, required lists and the string-valued
trigger metadata map. Objects whose every field is listed are closed
("additionalProperties": false) so a misspelt field fails; objects arrears
does not use (vault, cloud identities, TLS, OAuth...) are left open.

Run this file to rewrite ../crds/{keda.sh,monitoring.coreos.com}/*.json.
If upstream JSON schemas become available to the build, replace these.
"""
import json, os

S = {"type": "string"}
I = {"type": "integer", "format": "int32"}
B = {"type": "boolean"}
O = {"type": "object"}            # open object: not used by arrears
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
DUR = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}


def obj(props, required=(), closed=True):
    o = {"type": "object", "properties": props}
    if required:
        o["required"] = list(required)
    if closed:
        o["additionalProperties"] = False
    return o


def arr(items):
    return {"type": "array", "items": items}


def top(api_version, kind, spec, spec_required=True):
    return obj({
        "apiVersion": {"type": "string", "enum": [api_version]},
        "kind": {"type": "string", "enum": [kind]},
        "metadata": O,
        "spec": spec,
        "status": O,
    }, required=["spec"] if spec_required else [])


LABEL_SELECTOR = obj({
    "matchLabels": STRMAP,
    "matchExpressions": arr(obj({"key": S, "operator": S, "values": arr(S)}, ["key", "operator"])),
})

scaled_object = top("keda.sh/v1alpha1", "ScaledObject", obj({
    "scaleTargetRef": obj({"apiVersion": S, "kind": S, "name": S, "envSourceContainerName": S}, ["name"]),
    "pollingInterval": I,
    "cooldownPeriod": I,
    "initialCooldownPeriod": I,
    "idleReplicaCount": I,
    "minReplicaCount": I,
    "maxReplicaCount": I,
    "fallback": obj({"failureThreshold": I, "replicas": I,
                     "behavior": {"type": "string", "enum": ["static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"]}},
                    ["failureThreshold", "replicas"]),
    "advanced": obj({
        "restoreToOriginalReplicaCount": B,
        "horizontalPodAutoscalerConfig": obj({"name": S, "behavior": O}),
        "scalingModifiers": obj({"formula": S, "target": S, "activationTarget": S,
                                 "metricType": {"type": "string", "enum": ["AverageValue", "Value", "Utilization"]}}),
    }),
    "triggers": dict(arr(obj({
        "type": S,
        "name": S,
        "metadata": STRMAP,
        "authenticationRef": obj({"name": S, "kind": {"type": "string", "enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]}}, ["name"]),
        "metricType": {"type": "string", "enum": ["AverageValue", "Value", "Utilization"]},
        "useCachedMetrics": B,
    }, ["type", "metadata"])), minItems=1),
}, ["scaleTargetRef", "triggers"]))

trigger_auth = top("keda.sh/v1alpha1", "TriggerAuthentication", obj({
    "secretTargetRef": arr(obj({"parameter": S, "name": S, "key": S}, ["parameter", "name", "key"])),
    "configMapTargetRef": arr(obj({"parameter": S, "name": S, "key": S}, ["parameter", "name", "key"])),
    "env": arr(obj({"parameter": S, "name": S, "containerName": S}, ["parameter", "name"])),
    "boundServiceAccountToken": arr(obj({"parameter": S, "serviceAccountName": S}, ["parameter", "serviceAccountName"])),
    "podIdentity": O,
    "hashiCorpVault": O,
    "azureKeyVault": O,
    "awsSecretManager": O,
    "gcpSecretManager": O,
}))

endpoint = obj({
    "port": S,
    "targetPort": {"oneOf": [S, {"type": "integer"}]},
    "path": S,
    "scheme": {"type": "string", "enum": ["http", "https"]},
    "params": {"type": "object", "additionalProperties": arr(S)},
    "interval": DUR,
    "scrapeTimeout": DUR,
    "honorLabels": B,
    "honorTimestamps": B,
    "trackTimestampsStaleness": B,
    "followRedirects": B,
    "enableHttp2": B,
    "filterRunning": B,
    "proxyUrl": S,
    "relabelings": arr(O),
    "metricRelabelings": arr(O),
    "tlsConfig": O,
    "bearerTokenFile": S,
    "bearerTokenSecret": O,
    "basicAuth": O,
    "authorization": O,
    "oauth2": O,
})

service_monitor = top("monitoring.coreos.com/v1", "ServiceMonitor", obj({
    "selector": LABEL_SELECTOR,
    "namespaceSelector": obj({"any": B, "matchNames": arr(S)}),
    "endpoints": arr(endpoint),
    "jobLabel": S,
    "targetLabels": arr(S),
    "podTargetLabels": arr(S),
    "sampleLimit": {"type": "integer", "format": "int64"},
    "targetLimit": {"type": "integer", "format": "int64"},
    "labelLimit": {"type": "integer", "format": "int64"},
    "labelNameLengthLimit": {"type": "integer", "format": "int64"},
    "labelValueLengthLimit": {"type": "integer", "format": "int64"},
    "keepDroppedTargets": {"type": "integer", "format": "int64"},
    "bodySizeLimit": S,
    "scrapeProtocols": arr(S),
    "fallbackScrapeProtocol": S,
    "scrapeClassicHistograms": B,
    "nativeHistogramBucketLimit": {"type": "integer", "format": "int64"},
    "nativeHistogramMinBucketFactor": {"oneOf": [S, {"type": "integer"}]},
    "convertClassicHistogramsToNHCB": B,
    "attachMetadata": obj({"node": B}),
    "scrapeClass": S,
    "selectorMechanism": {"type": "string", "enum": ["RelabelConfig", "RoleSelector"]},
}, ["selector"]))

HERE = os.path.dirname(os.path.abspath(__file__))
for rel, schema in [("keda.sh/scaledobject_v1alpha1.json", scaled_object),
                    ("keda.sh/triggerauthentication_v1alpha1.json", trigger_auth),
                    ("monitoring.coreos.com/servicemonitor_v1.json", service_monitor)]:
    schema = dict(schema, **{"$comment": "hand-written subset of the upstream CRD; see tests/k8s/schemas/handwritten/gen.py"})
    path = os.path.join(HERE, "..", "crds", rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(schema, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", os.path.normpath(path))
