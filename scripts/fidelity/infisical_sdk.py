"""Drives infisical-client's FakeInfisical with Infisical's official Python SDK (`infisicalsdk`).

Started by infisical-client's integration test `sdk::official_python_sdk_accepts_the_fake` with
the fake's address in the environment:

    INFISICAL_SITE_URL, INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET, INFISICAL_PROJECT_ID

It logs in with Universal Auth, reads the /backups/garage folder of `prod` (list and a
single secret), reads an imported secret, and tries a folder that does not exist; it prints one
JSON document with what the SDK made of each answer. Any exception the SDK raises on a
well-formed request means the fake answered in a shape the real server does not: the script
then exits non-zero with the exception on stderr.
"""

import json
import os
import sys

# This file shares its name with the SDK's package: drop its own directory from the module
# path so that `import infisical_sdk` finds the installed SDK, not this script.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

from infisical_sdk import InfisicalSDKClient  # noqa: E402
from infisical_sdk.infisical_requests import APIError  # noqa: E402


def main() -> int:
    site = os.environ["INFISICAL_SITE_URL"]
    project = os.environ["INFISICAL_PROJECT_ID"]
    report = {}
    # cache_ttl=None: no background cache thread, every call reaches the fake.
    with InfisicalSDKClient(host=site, cache_ttl=None) as client:
        login = client.auth.universal_auth.login(
            client_id=os.environ["INFISICAL_CLIENT_ID"],
            client_secret=os.environ["INFISICAL_CLIENT_SECRET"],
        )
        report["login"] = {
            "expiresIn": login.expiresIn,
            "accessTokenMaxTTL": login.accessTokenMaxTTL,
            "tokenType": login.tokenType,
            "has_token": bool(login.accessToken),
        }

        listing = client.secrets.list_secrets(
            project_id=project,
            environment_slug="prod",
            secret_path="/backups/garage",
        )
        report["garage"] = {s.secretKey: s.secretValue for s in listing.secrets}
        report["garage_paths"] = sorted({s.secretPath for s in listing.secrets})
        report["garage_hidden"] = [s.secretKey for s in listing.secrets if s.secretValueHidden]
        report["garage_imports"] = [
            {"secretPath": i.secretPath, "environment": i.environment, "keys": sorted(
                s["secretKey"] for s in i.secrets)}
            for i in listing.imports
        ]

        one = client.secrets.get_secret_by_name(
            secret_name="ACCESS_KEY_ID",
            project_id=project,
            environment_slug="prod",
            secret_path="/backups/garage",
        )
        report["one"] = {"key": one.secretKey, "value": one.secretValue, "version": one.version}

        imported = client.secrets.get_secret_by_name(
            secret_name="SHARED_ONLY",
            project_id=project,
            environment_slug="prod",
            secret_path="/backups/garage",
        )
        report["imported"] = {"key": imported.secretKey, "value": imported.secretValue,
                              "environment": imported.environment}

        try:
            client.secrets.list_secrets(
                project_id=project,
                environment_slug="prod",
                secret_path="/backups/garrage",
            )
            report["missing_folder"] = {"status": 200}
        except APIError as e:
            report["missing_folder"] = {
                "status": e.status_code,
                "error": e.response.get("error"),
                "message": e.response.get("message"),
            }

    json.dump(report, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
