#!/usr/bin/env python3
"""Drive pbs-client's fake Proxmox Backup Server with proxmoxer, the Python API client PVE and
PBS users script against. Started by pbs-client's integration test `proxmoxer_accepts_the_fake`
with the fake's address; a fake that proxmoxer cannot use is a wrong fake.

Usage: pbs_proxmoxer.py --host 127.0.0.1 --port PORT --ca-file CERT.pem --fingerprint AA:BB:..
Secrets come from the environment, never the command line: PBS_TOKEN_ID (user@realm!name),
PBS_TOKEN_SECRET, PBS_USER, PBS_PASSWORD.

TLS: the fake's self-signed certificate is the only trust anchor (`verify_ssl` = its PEM, as
PBS users do with /etc/proxmox-backup/proxy.pem) and the session additionally pins its SHA-256
fingerprint (urllib3 `assert_fingerprint`). Prints one line per check; exits 1 on the first
failure.
"""

import argparse
import os
import re
import sys
import time
from datetime import datetime

from requests.adapters import HTTPAdapter

from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

# "<RFC 3339 local time>: <message>", as PBS's task file logger writes every line.
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)): (.*)$")

checks = 0


def check(what, ok, detail=""):
    global checks
    if not ok:
        print(f"FAIL: {what} {detail}", flush=True)
        sys.exit(1)
    checks += 1
    print(f"ok: {what}", flush=True)


class PinnedAdapter(HTTPAdapter):
    """Refuses any server whose certificate does not have this SHA-256 fingerprint."""

    def __init__(self, fingerprint, **kwargs):
        self._fingerprint = fingerprint
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_fingerprint"] = self._fingerprint
        return super().init_poolmanager(*args, **kwargs)


def connect(args, **auth):
    api = ProxmoxAPI(
        args.host,
        port=args.port,
        service="PBS",
        verify_ssl=args.ca_file,
        timeout=20,
        **auth,
    )
    api._store["session"].mount("https://", PinnedAdapter(args.fingerprint))
    return api


def wait_task(api, upid, what):
    """Polls the task status like PVE's PBSPlugin does, bounded to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        status = api.nodes("localhost").tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        if time.monotonic() > deadline:
            check(f"{what} stops within 30 s", False, repr(status))
        time.sleep(0.2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca-file", required=True)
    p.add_argument("--fingerprint", required=True)
    args = p.parse_args()

    token_id = os.environ["PBS_TOKEN_ID"]
    user, token_name = token_id.split("!", 1)
    api = connect(args, user=user, token_name=token_name, token_value=os.environ["PBS_TOKEN_SECRET"])

    version = api.version.get()
    check("version", {"version", "release", "repoid"} <= set(version), repr(version))

    stores = api.admin.datastore.get()
    names = sorted(s["store"] for s in stores)
    check("datastores", names == ["archive", "store1"], repr(names))

    status = api.admin.datastore("store1").status.get(verbose=1)
    check(
        "datastore status",
        status["total"] >= status["used"] > 0 and "gc-status" in status and "counts" in status,
        repr(status),
    )

    namespaces = sorted(n["ns"] for n in api.admin.datastore("store1").namespace.get())
    check("namespaces", namespaces == ["", "dev", "prod", "prod/db"], repr(namespaces))

    groups = api.admin.datastore("store1").groups.get()
    check(
        "groups",
        sorted((g["backup-type"], g["backup-id"]) for g in groups) == [("ct", "200"), ("vm", "100")],
        repr(groups),
    )

    snaps = api.admin.datastore("store1").snapshots.get()
    check("snapshots (root namespace)", len(snaps) == 35, str(len(snaps)))
    vm = [s for s in snaps if s["backup-type"] == "vm" and s["backup-id"] == "100"]
    check(
        "snapshot fields",
        all(isinstance(s["backup-time"], int) and s["files"] and "size" in s for s in vm)
        and sum(1 for s in vm if s.get("protected")) == 1,
        repr(vm[:1]),
    )
    prod = api.admin.datastore("store1").snapshots.get(ns="prod")
    check(
        "snapshots (namespace prod)",
        len(prod) == 3 and {s["backup-id"] for s in prod} == {"nas"},
        repr(prod),
    )

    upid = api.admin.datastore("store1").gc.post()
    check("start garbage collection", isinstance(upid, str) and upid.startswith("UPID:"), repr(upid))
    status = wait_task(api, upid, "garbage collection")
    check("task status", status["exitstatus"] == "OK" and status["upid"] == upid, repr(status))

    log = api.nodes("localhost").tasks(upid).log.get(start=0, limit=0)
    parsed = [LOG_LINE.match(line["t"]) for line in log]
    check("task log has numbered lines", [line["n"] for line in log] == list(range(1, len(log) + 1)), repr(log))
    check("task log lines carry an RFC 3339 time", all(parsed), repr(log))
    times = [datetime.fromisoformat(m.group(1).replace("Z", "+00:00")) for m in parsed]
    check("task log times are ordered", times == sorted(times), repr(log))
    check("task log ends with the result", parsed[-1].group(2) == "TASK OK", repr(log))

    tasks = api.nodes("localhost").tasks.get(typefilter="garbage", limit=1)
    check("task list", len(tasks) == 1 and tasks[0]["upid"] == upid and tasks[0]["status"] == "OK", repr(tasks))

    unknown = "UPID:pbs:00000001:00000001:000000FF:65000000:garbage_collection:store1:" + token_id + ":"
    status = api.nodes("localhost").tasks(unknown).status.get()
    check(
        "unknown task reads stopped/unknown",
        status["status"] == "stopped" and status["exitstatus"] == "unknown",
        repr(status),
    )

    # Ticket auth: login (form POST), a read, and a write with the CSRF header.
    session = connect(args, user=os.environ["PBS_USER"], password=os.environ["PBS_PASSWORD"])
    ticket, csrf = session.get_tokens()
    check("password login", bool(ticket) and bool(csrf))
    check("read with a ticket", len(session.admin.datastore.get()) == 2)
    upid = session.admin.datastore("store1").verify.post(**{"backup-type": "ct", "backup-id": "200"})
    status = wait_task(session, upid, "verify")
    check("write with ticket and CSRF token", status["exitstatus"] == "OK", repr(status))

    bad = connect(args, user=user, token_name=token_name, token_value="not-the-secret")
    try:
        bad.version.get()
        check("wrong token is refused", False, "answered")
    except ResourceException as e:
        check("wrong token is refused with 401", e.status_code == 401, str(e))

    print(f"all {checks} checks passed", flush=True)


if __name__ == "__main__":
    main()
