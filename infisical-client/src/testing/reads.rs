//! Reading secrets: folders, recursion, imports, references, read-value permission.
//!
//! Sources (Infisical/infisical):
//! * `backend/src/server/routes/v4/secret-router.ts`, `backend/src/server/routes/v3/secret-router.ts`:
//!   query parameters (zod `"true"|"false"` booleans), `Missing project id or environment`.
//! * `backend/src/services/secret-v2-bridge/secret-v2-bridge-service.ts`:
//!   - `getSecrets` (both list routes): a folder that does not exist (also the root of an
//!     environment that does not exist, and the root of a recursive listing) is 404
//!     `SecretPathNotFound` "Folder with path '…' in environment '…' was not found. …"; with
//!     `viewSecretValue=true` a secret of the folder itself whose value the identity may not
//!     read fails the whole request (`throwIfMissingSecretReadValueOrDescribePermission` → CASL
//!     `ForbiddenError` → 403 `PermissionDenied`), while such secrets in subfolders of a
//!     recursive listing are silently left out; imports keep only secrets that pass
//!     `hasSecretAccess` (describe **and** read value), so unreadable imported secrets are
//!     silently left out too; with `viewSecretValue=false` every value is masked
//!     (`secretValueHidden: true`).
//!   - `getSecretByName`: a missing folder is 404 `GetSecretByName` "Folder with path '…' in
//!     environment with slug '…' not found"; an unreadable value (local or imported) is 403
//!     `ForbiddenReadSecretError`; not found is 404 `NotFound` "Secret with name '…' not found";
//!     imports are searched last to first.
//! * `backend/src/services/secret-import/secret-import-fns.ts` (`fnSecretsV2FromImports`): the
//!   import blocks, filtered through `hasSecretAccess`.
//! * `backend/src/server/plugins/error-handler.ts`: the shape of each error body.

use serde_json::{Value, json};

use super::server::{FakeSecret, Reply, State};
use crate::secrets::normalize_secret_path;

pub(super) struct SecretsQuery {
    pub(super) project: String,
    env: String,
    path: String,
    expand: bool,
    recursive: bool,
    imports: bool,
    view: bool,
    personal: bool,
}

impl SecretsQuery {
    pub(super) fn parse(q: &[(String, String)], v4: bool) -> Result<Self, Reply> {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let mut issues = Vec::new();
        let mut flag = |k: &str, default: bool| -> Option<bool> {
            match get(k) {
                None => Some(default),
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(other) => {
                    issues.push(json!({
                        "received": other, "code": "invalid_enum_value", "options": ["true", "false"],
                        "path": [k], "message": format!("Invalid enum value. Expected 'true' | 'false', received '{other}'")
                    }));
                    None
                }
            }
        };
        // Since 2026 v4 defaults expansion and imports to true; v3 keeps false.
        let expand = flag("expandSecretReferences", v4);
        let recursive = flag("recursive", false);
        let old_imports = flag("include_imports", v4);
        let new_imports = if v4 { flag("includeImports", v4) } else { None };
        let view = flag("viewSecretValue", true);
        let personal = flag("includePersonalOverrides", false);
        if !issues.is_empty() {
            return Err(Reply::error(422, "ValidationFailure", Value::Array(issues)));
        }
        let project = if v4 {
            get("projectId")
        } else {
            get("workspaceId")
        };
        let (Some(project), Some(env)) = (project, get("environment")) else {
            return Err(Reply::error(
                400,
                "BadRequest",
                "Missing project id or environment",
            ));
        };
        let imports = if v4 && get("includeImports").is_some() {
            new_imports
        } else {
            old_imports
        };
        Ok(Self {
            project: project.to_owned(),
            env: env.to_owned(),
            path: normalize_secret_path(get("secretPath").unwrap_or("/")),
            expand: expand.unwrap_or(false),
            recursive: recursive.unwrap_or(false),
            imports: imports.unwrap_or(false),
            view: view.unwrap_or(true),
            // v3 returns shared and personal secrets alike.
            personal: if v4 { personal.unwrap_or(false) } else { true },
        })
    }
}

fn under(candidate: &str, path: &str) -> bool {
    candidate == path || path == "/" || candidate.starts_with(&format!("{path}/"))
}

impl State {
    /// A project exists once anything (a secret or a folder) was put in it.
    pub(super) fn project_exists(&self, project: &str) -> bool {
        self.secrets.iter().any(|s| s.project == project)
            || self.folders.iter().any(|(p, _, _)| p == project)
    }

    /// Folders exist where secrets, explicit folders or import targets are (with all their
    /// parents); an environment exists once something was put in it, and then has a root.
    fn folder_exists(&self, project: &str, env: &str, path: &str) -> bool {
        let paths = self
            .secrets
            .iter()
            .filter(|s| s.project == project && s.env == env)
            .map(|s| s.path.as_str())
            .chain(
                self.folders
                    .iter()
                    .filter(|(p, e, _)| p == project && e == env)
                    .map(|(_, _, f)| f.as_str()),
            )
            .chain(
                self.imports
                    .iter()
                    .filter(|i| i.project == project && i.env == env)
                    .map(|i| i.path.as_str()),
            );
        let mut env_exists = false;
        for p in paths {
            env_exists = true;
            if under(p, path) {
                return true;
            }
        }
        env_exists && path == "/"
    }
}

fn in_folder(s: &FakeSecret, project: &str, env: &str, path: &str, recursive: bool) -> bool {
    s.project == project && s.env == env && (s.path == path || (recursive && under(&s.path, path)))
}

/// `${KEY}` (same folder) and `${env.a.b.KEY}` (folder `/a/b` of `env`); unknown references
/// stay as written.
fn expand(st: &State, project: &str, env: &str, path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let reference = &after[..end];
        let parts: Vec<&str> = reference.split('.').collect();
        let (renv, rpath, rkey) = match parts.as_slice() {
            [key] => (env.to_owned(), path.to_owned(), (*key).to_owned()),
            [e, folders @ .., key] => (
                (*e).to_owned(),
                normalize_secret_path(&folders.join("/")),
                (*key).to_owned(),
            ),
            [] => (env.to_owned(), path.to_owned(), String::new()),
        };
        match st.secrets.iter().find(|s| {
            s.project == project && s.env == renv && s.path == rpath && s.key == rkey && !s.personal
        }) {
            Some(s) => out.push_str(&s.value),
            None => {
                out.push_str("${");
                out.push_str(reference);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn secret_json(st: &State, s: &FakeSecret, q: &SecretsQuery) -> Value {
    // With `viewSecretValue=true` unreadable secrets never get here (403 or left out).
    let hidden = !q.view || s.unreadable;
    let value = if hidden {
        crate::api::HIDDEN_VALUE.to_owned()
    } else if q.expand {
        expand(st, &s.project, &s.env, &s.path, &s.value)
    } else {
        s.value.clone()
    };
    json!({
        "id": s.id, "_id": s.id, "workspace": s.project, "environment": s.env,
        "version": s.version, "type": if s.personal { "personal" } else { "shared" },
        "secretKey": s.key, "secretValue": value, "secretComment": "",
        "secretReminderNote": null, "secretReminderRepeatDays": null,
        "skipMultilineEncoding": false,
        "createdAt": "2026-11-01T08:00:00.000Z", "updatedAt": "2026-11-20T08:00:00.000Z",
        "secretPath": s.path, "secretValueHidden": hidden,
        "secretMetadata": [], "tags": [], "isRotatedSecret": false, "rotationId": null,
    })
}

fn folder_not_found(q: &SecretsQuery) -> Reply {
    Reply::error(
        404,
        "SecretPathNotFound",
        format!(
            "Folder with path '{}' in environment '{}' was not found. Please ensure the environment slug and secret path is correct.",
            q.path, q.env
        ),
    )
}

/// CASL's `ForbiddenError` as the error handler renders it.
fn read_value_denied(q: &SecretsQuery, key: &str) -> Reply {
    let mut r = Reply::error(
        403,
        "PermissionDenied",
        "You are not allowed to readValue on secrets",
    );
    r.body["details"] = json!([{
        "action": ["readValue"], "inverted": true, "subject": "secrets",
        "conditions": { "environment": q.env, "secretPath": { "$glob": q.path }, "secretName": key }
    }]);
    r
}

pub(super) fn list(st: &State, q: &SecretsQuery, v4: bool) -> Reply {
    if !st.folder_exists(&q.project, &q.env, &q.path) {
        return folder_not_found(q);
    }
    let mut secrets = Vec::new();
    for s in st
        .secrets
        .iter()
        .filter(|s| in_folder(s, &q.project, &q.env, &q.path, q.recursive))
        .filter(|s| q.personal || !s.personal)
    {
        if q.view && s.unreadable {
            if s.path == q.path {
                return read_value_denied(q, &s.key);
            }
            // A subfolder's unreadable secret is left out of a recursive listing.
            continue;
        }
        secrets.push(secret_json(st, s, q));
    }
    let mut body = json!({ "secrets": secrets });
    if q.imports {
        let imports: Vec<Value> = st
            .imports
            .iter()
            .filter(|i| i.project == q.project && i.env == q.env && i.path == q.path)
            .map(|i| {
                let secrets: Vec<Value> = st
                    .secrets
                    .iter()
                    .filter(|s| {
                        in_folder(s, &q.project, &i.from_env, &i.from_path, false) && !s.personal
                    })
                    // `hasSecretAccess`: describe and, with viewSecretValue, read value.
                    .filter(|s| !(q.view && s.unreadable))
                    .map(|s| secret_json(st, s, q))
                    .collect();
                json!({ "secretPath": i.from_path, "environment": i.from_env,
                        "folderId": format!("folder-{}", i.from_path), "secrets": secrets })
            })
            .collect();
        body["imports"] = Value::Array(imports);
    }
    let mut reply = Reply::ok(body);
    if v4 {
        reply
            .headers
            .push(("etag", format!("\"{}\"", st.secrets.len())));
    }
    reply
}

pub(super) fn get_one(st: &State, q: &SecretsQuery, name: &str) -> Reply {
    if !st.folder_exists(&q.project, &q.env, &q.path) {
        return Reply::error(
            404,
            "GetSecretByName",
            format!(
                "Folder with path '{}' in environment with slug '{}' not found",
                q.path, q.env
            ),
        );
    }
    let local = st
        .secrets
        .iter()
        .find(|s| in_folder(s, &q.project, &q.env, &q.path, false) && s.key == name && !s.personal);
    let imported = || {
        if !q.imports {
            return None;
        }
        st.imports
            .iter()
            .rev()
            .filter(|i| i.project == q.project && i.env == q.env && i.path == q.path)
            .find_map(|i| {
                st.secrets.iter().find(|s| {
                    in_folder(s, &q.project, &i.from_env, &i.from_path, false)
                        && s.key == name
                        && !s.personal
                })
            })
    };
    let (found, what) = match local {
        Some(s) => (Some(s), "secret value"),
        None => (imported(), "secret import value"),
    };
    match found {
        Some(s) if q.view && s.unreadable => Reply::error(
            403,
            "ForbiddenReadSecretError",
            format!("You do not have permission to view {what} on secret with name '{name}'"),
        ),
        Some(s) => Reply::ok(json!({ "secret": secret_json(st, s, q) })),
        None => Reply::error(
            404,
            "NotFound",
            format!("Secret with name '{name}' not found"),
        ),
    }
}
