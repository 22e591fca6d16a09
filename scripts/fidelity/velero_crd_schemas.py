"""Regenerates velero-client/src/testing/crds/velero_v1.json from a Velero checkout.

FakeVelero validates and prunes objects against Velero's own CRDs, as the apiserver does. This
keeps, per CRD of vmware-tanzu/velero config/crd/v1/bases/velero.io_*.yaml, the names, scope,
subresources, printer columns and the v1 `openAPIV3Schema` without its `description` texts
(the schema facts the apiserver acts on). Needs PyYAML.

Usage: velero_crd_schemas.py VELERO_CHECKOUT OUT.json
"""

import glob
import json
import os
import sys

import yaml


def strip(schema):
    """A schema without descriptions; `properties` keys are field names, kept as they are."""
    if isinstance(schema, list):
        return [strip(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key == "properties":
            out[key] = {name: strip(s) for name, s in value.items()}
        else:
            out[key] = strip(value)
    return out


def main():
    root, out_path = sys.argv[1], sys.argv[2]
    crds = []
    for path in sorted(glob.glob(os.path.join(root, "config/crd/v1/bases/velero.io_*.yaml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        spec = doc["spec"]
        (version,) = [v for v in spec["versions"] if v["name"] == "v1"]
        crds.append(
            {
                "source": "config/crd/v1/bases/" + os.path.basename(path),
                "group": spec["group"],
                "names": spec["names"],
                "scope": spec["scope"],
                "version": version["name"],
                "subresources": version.get("subresources") or {},
                "additionalPrinterColumns": strip(version.get("additionalPrinterColumns", [])),
                "openAPIV3Schema": strip(version["schema"]["openAPIV3Schema"]),
            }
        )
    with open(out_path, "w") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(c, sort_keys=True, separators=(",", ":")) for c in crds))
        f.write("\n]\n")


if __name__ == "__main__":
    main()
