"""Drives velero-client's FakeVelero with the official Kubernetes Python client.

Started by velero-client/tests/integration/fidelity.rs with the fake's kubeconfig (TLS with the
kubeconfig's CA, bearer token). Lists, gets, creates, patches and watches velero.io/v1 Backups,
Restores and Schedules through CustomObjectsApi and kubernetes.watch, as any controller or
script written against a real cluster would. Prints one JSON summary line on success; any
assertion or API error exits non-zero with the reason on stderr.

Usage: velero_kubernetes.py --kubeconfig PATH --context NAME
"""

import argparse
import json
import sys
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION, NS = "velero.io", "v1", "velero"
DEADLINE = time.monotonic() + 90


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def watch_until(api, plural, name, done, resource_version=None):
    """Watches `plural` until object `name` satisfies `done`; returns it."""
    w = watch.Watch()
    seen = []
    while time.monotonic() < DEADLINE:
        kwargs = {"timeout_seconds": 20}
        if resource_version:
            kwargs["resource_version"] = resource_version
        for event in w.stream(
            api.list_namespaced_custom_object, GROUP, VERSION, NS, plural, **kwargs
        ):
            obj = event["object"]
            check(isinstance(obj, dict), f"watch event object is a dict: {event!r}")
            check(
                event["type"] in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"),
                f"event type {event['type']!r}",
            )
            seen.append(event["type"])
            if obj.get("metadata", {}).get("name") == name and done(obj):
                w.stop()
                return obj, seen
        resource_version = w.resource_version
    raise AssertionError(f"watch of {plural}/{name} never saw the wanted state (events {seen})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--context", required=True)
    args = p.parse_args()

    config.load_kube_config(config_file=args.kubeconfig, context=args.context)
    api = client.CustomObjectsApi()
    summary = {}

    # list: the fake's kind/apiVersion/metadata as the client expects them.
    for plural, kind in (("backups", "BackupList"), ("restores", "RestoreList"), ("schedules", "ScheduleList")):
        lst = api.list_namespaced_custom_object(GROUP, VERSION, NS, plural)
        check(lst["apiVersion"] == "velero.io/v1", f"{plural} apiVersion {lst.get('apiVersion')}")
        check(lst["kind"] == kind, f"{plural} kind {lst.get('kind')}")
        check("resourceVersion" in lst["metadata"], f"{plural} list resourceVersion")
        summary[f"listed_{plural}"] = len(lst["items"])

    locations = api.list_namespaced_custom_object(GROUP, VERSION, NS, "backupstoragelocations")
    check(any(l["metadata"]["name"] == "default" for l in locations["items"]), "default location listed")

    # create + get a Backup, then watch it to a terminal phase.
    body = {
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {"name": "py-backup", "labels": {"made-by": "python"}},
        "spec": {"includedNamespaces": ["apps"], "ttl": "72h0m0s"},
    }
    created = api.create_namespaced_custom_object(GROUP, VERSION, NS, "backups", body)
    check(created["metadata"]["name"] == "py-backup", "created name")
    check(created["metadata"].get("uid"), "created uid")
    rv = created["metadata"]["resourceVersion"]
    got = api.get_namespaced_custom_object(GROUP, VERSION, NS, "backups", "py-backup")
    check(got["spec"]["includedNamespaces"] == ["apps"], "get returns the spec")
    done, events = watch_until(
        api,
        "backups",
        "py-backup",
        lambda o: o.get("status", {}).get("phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation"),
        resource_version=rv,
    )
    check(done["status"]["phase"] == "Completed", f"backup phase {done['status']}")
    summary["backup_phase"] = done["status"]["phase"]
    summary["backup_events"] = events

    # label selector and paging.
    sel = api.list_namespaced_custom_object(GROUP, VERSION, NS, "backups", label_selector="made-by=python")
    check([i["metadata"]["name"] for i in sel["items"]] == ["py-backup"], "label selector")
    names, token, pages = [], None, 0
    while True:
        kw = {"limit": 1}
        if token:
            kw["_continue"] = token
        page = api.list_namespaced_custom_object(GROUP, VERSION, NS, "backups", **kw)
        names += [i["metadata"]["name"] for i in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token or pages > 50:
            break
    check("py-backup" in names and len(names) == len(set(names)), f"paged names {names}")
    summary["paged_backups"] = names

    # a Schedule: create, merge-patch (pause), get.
    sched = api.create_namespaced_custom_object(
        GROUP, VERSION, NS, "schedules",
        {
            "apiVersion": "velero.io/v1",
            "kind": "Schedule",
            "metadata": {"name": "py-daily"},
            "spec": {"schedule": "0 3 * * *", "template": {"includedNamespaces": ["apps"]}},
        },
    )
    check(sched["metadata"]["name"] == "py-daily", "schedule created")
    patched = api.patch_namespaced_custom_object(GROUP, VERSION, NS, "schedules", "py-daily", {"spec": {"paused": True}})
    check(patched["spec"]["paused"] is True, "merge patch applied")
    enabled, _ = watch_until(api, "schedules", "py-daily", lambda o: o.get("status", {}).get("phase") == "Enabled")
    summary["schedule_phase"] = enabled["status"]["phase"]

    # a Restore from the backup, watched to the end.
    api.create_namespaced_custom_object(
        GROUP, VERSION, NS, "restores",
        {
            "apiVersion": "velero.io/v1",
            "kind": "Restore",
            "metadata": {"name": "py-restore"},
            "spec": {"backupName": "py-backup", "namespaceMapping": {"apps": "apps-copy"}},
        },
    )
    restored, _ = watch_until(
        api,
        "restores",
        "py-restore",
        lambda o: o.get("status", {}).get("phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation"),
    )
    check(restored["status"]["phase"] == "Completed", f"restore {restored['status']}")
    summary["restore_phase"] = restored["status"]["phase"]

    # errors come back as Kubernetes Status bodies the client can read.
    try:
        api.get_namespaced_custom_object(GROUP, VERSION, NS, "backups", "does-not-exist")
        raise AssertionError("get of a missing backup succeeded")
    except ApiException as e:
        check(e.status == 404, f"missing backup status {e.status}")
        status = json.loads(e.body)
        check(status["kind"] == "Status" and status["reason"] == "NotFound", f"404 body {e.body}")
    try:
        api.create_namespaced_custom_object(GROUP, VERSION, NS, "backups", body)
        raise AssertionError("second create succeeded")
    except ApiException as e:
        check(e.status == 409, f"duplicate create status {e.status}")
        check(json.loads(e.body)["reason"] == "AlreadyExists", f"409 body {e.body}")

    print(json.dumps(summary))


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, ApiException) as e:
        print(f"velero_kubernetes.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
