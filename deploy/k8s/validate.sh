#!/bin/sh
# Render a kustomization and validate every object offline:
#   deploy/k8s/validate.sh DIR
# kubectl kustomize renders; python3-yaml turns the YAML stream into JSON
# (joining the lines kustomize breaks long base64 Secret data into: Go's
# base64 decoder in the API server skips newlines, kubernetes-models'
# "byte" format does not); validate.mjs checks each object with
# kubernetes-models.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(dirname "$0")
kubectl kustomize "$1" |
    python3 -c '
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
for d in docs:
    if d.get("kind") == "Secret" and isinstance(d.get("data"), dict):
        d["data"] = {k: "".join(str(v).split()) for k, v in d["data"].items()}
json.dump(docs, sys.stdout)' |
    node "$here/validate.mjs"
