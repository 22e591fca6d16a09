//! The fake apiserver's object store: resourceVersions, selectors, paging, watch history.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// What a failed API call returns: a Kubernetes `Status`.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub name: Option<String>,
    pub plural: String,
}

impl ApiError {
    pub(crate) fn not_found(plural: &str, name: &str) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{plural}.velero.io \"{name}\" not found"),
            name: Some(name.to_owned()),
            plural: plural.to_owned(),
        }
    }

    pub(crate) fn body(&self) -> Value {
        let mut details = json!({ "group": "velero.io", "kind": self.plural });
        if let Some(n) = &self.name {
            details["name"] = json!(n);
        }
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": details,
            "code": self.code,
        })
    }
}

/// A watch event kept in history.
#[derive(Clone, Debug)]
pub(crate) struct StoredEvent {
    pub rv: u64,
    pub plural: String,
    pub namespace: String,
    pub kind: &'static str,
    pub object: Value,
}

type Key = (String, String, String);

#[derive(Default)]
pub(crate) struct Store {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    seq: u64,
    pub history: Vec<StoredEvent>,
    /// Skip the CRD schema for the next create (a newer Velero's CRD).
    pub unchecked: bool,
}

pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

pub(crate) fn kind_of(plural: &str) -> Option<&'static str> {
    Some(match plural {
        "backups" => "Backup",
        "restores" => "Restore",
        "schedules" => "Schedule",
        "backupstoragelocations" => "BackupStorageLocation",
        "deletebackuprequests" => "DeleteBackupRequest",
        "downloadrequests" => "DownloadRequest",
        "podvolumebackups" => "PodVolumeBackup",
        "podvolumerestores" => "PodVolumeRestore",
        "volumesnapshotlocations" => "VolumeSnapshotLocation",
        "serverstatusrequests" => "ServerStatusRequest",
        "backuprepositories" => "BackupRepository",
        _ => return None,
    })
}

pub(crate) fn plural_of(kind: &str) -> Option<&'static str> {
    [
        "backups",
        "restores",
        "schedules",
        "backupstoragelocations",
        "deletebackuprequests",
        "downloadrequests",
        "podvolumebackups",
        "podvolumerestores",
        "volumesnapshotlocations",
        "serverstatusrequests",
        "backuprepositories",
    ]
    .into_iter()
    .find(|p| kind_of(p) == Some(kind))
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (`a=b,c!=d,e in (x,y),!f`).
pub(crate) struct Selector(Vec<Req>);

impl Selector {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut depth = 0;
        let mut cur = String::new();
        for c in text.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        parts.push(cur);
        let mut reqs = Vec::new();
        for p in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or(format!("bad set in {p:?}"))?;
                Ok(inner.split(',').map(|v| v.trim().to_owned()).collect())
            };
            if let Some((k, v)) = p.split_once("!=") {
                reqs.push(Req::NotEq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once("==") {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once('=') {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                reqs.push(Req::NotIn(k.trim().into(), set(rest)?));
            } else if let Some((k, rest)) = p.split_once(" in ") {
                reqs.push(Req::In(k.trim().into(), set(rest)?));
            } else if let Some(k) = p.strip_prefix('!') {
                reqs.push(Req::NotExists(k.trim().into()));
            } else if p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                reqs.push(Req::Exists(p.into()));
            } else {
                return Err(format!("unable to parse requirement: {p:?}"));
            }
        }
        Ok(Self(reqs))
    }

    pub(crate) fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Field selector: only `metadata.name` and `metadata.namespace` (what CRDs support).
pub(crate) struct FieldSelector(Vec<(String, String, bool)>);

impl FieldSelector {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for p in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v, eq) = if let Some((k, v)) = p.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = p.split_once("==") {
                (k, v, true)
            } else if let Some((k, v)) = p.split_once('=') {
                (k, v, true)
            } else {
                return Err(format!("invalid field selector {p:?}"));
            };
            if k != "metadata.name" && k != "metadata.namespace" {
                return Err(format!("field label not supported: {k}"));
            }
            out.push((k.to_owned(), v.to_owned(), eq));
        }
        Ok(Self(out))
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, v, eq)| {
            let field = k.strip_prefix("metadata.").unwrap_or(k);
            let actual = obj["metadata"][field].as_str().unwrap_or("");
            (actual == v) == *eq
        })
    }
}

/// Filters for list and watch.
pub(crate) struct Filter {
    pub labels: Option<Selector>,
    pub fields: Option<FieldSelector>,
}

impl Filter {
    pub(crate) fn matches(&self, obj: &Value) -> bool {
        self.labels
            .as_ref()
            .is_none_or(|s| s.matches(&obj["metadata"]["labels"]))
            && self.fields.as_ref().is_none_or(|f| f.matches(obj))
    }
}

impl Store {
    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub(crate) fn rv(&self) -> u64 {
        self.rv
    }

    fn record(&mut self, plural: &str, ns: &str, kind: &'static str, object: &Value) {
        self.history.push(StoredEvent {
            rv: self.rv,
            plural: plural.to_owned(),
            namespace: ns.to_owned(),
            kind,
            object: object.clone(),
        });
    }

    fn random_suffix(&mut self) -> String {
        self.seq += 1;
        let mut x = self.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (jiff::Timestamp::now().as_nanosecond() as u64);
        let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
        (0..5)
            .map(|_| {
                let c = alphabet[(x % alphabet.len() as u64) as usize] as char;
                x /= alphabet.len() as u64;
                c
            })
            .collect()
    }

    pub(crate) fn get(&self, plural: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(plural.to_owned(), ns.to_owned(), name.to_owned()))
    }

    pub(crate) fn all(&self, plural: &str, ns: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((p, n, _), _)| p == plural && n == ns)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(crate) fn create(
        &mut self,
        plural: &str,
        ns: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let kind = kind_of(plural).ok_or_else(|| ApiError::not_found(plural, ""))?;
        if !obj.is_object() {
            return Err(ApiError {
                code: 400,
                reason: "BadRequest",
                message: "body must be an object".into(),
                name: None,
                plural: plural.into(),
            });
        }
        let mut name = obj["metadata"]["name"].as_str().unwrap_or("").to_owned();
        if name.is_empty() {
            let Some(prefix) = obj["metadata"]["generateName"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
            else {
                return Err(ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!(
                        "{kind}.velero.io \"\" is invalid: metadata.name: Required value: name or generateName is required"
                    ),
                    name: None,
                    plural: plural.into(),
                });
            };
            name = format!("{prefix}{}", self.random_suffix());
        }
        if let Some(body_ns) = obj["metadata"]["namespace"].as_str()
            && !body_ns.is_empty()
            && body_ns != ns
        {
            return Err(ApiError {
                code: 400,
                reason: "BadRequest",
                message: "the namespace of the provided object does not match the namespace sent on the request".into(),
                name: Some(name),
                plural: plural.into(),
            });
        }
        if !self.unchecked {
            super::schema::admit(kind, plural, &name, &mut obj)?;
        }
        if self.get(plural, ns, &name).is_some() {
            return Err(ApiError {
                code: 409,
                reason: "AlreadyExists",
                message: format!("{plural}.velero.io \"{name}\" already exists"),
                name: Some(name),
                plural: plural.into(),
            });
        }
        let rv = self.bump();
        self.seq += 1;
        let uid = format!("{:08x}-0000-4000-8000-{:012x}", rv, self.seq);
        obj["apiVersion"] = json!("velero.io/v1");
        obj["kind"] = json!(kind);
        let meta = &mut obj["metadata"];
        meta["name"] = json!(name);
        meta["namespace"] = json!(ns);
        meta["uid"] = json!(uid);
        meta["resourceVersion"] = json!(rv.to_string());
        meta["generation"] = json!(1);
        if meta["creationTimestamp"].as_str().is_none() {
            meta["creationTimestamp"] = json!(now_rfc3339());
        }
        self.objects
            .insert((plural.to_owned(), ns.to_owned(), name), obj.clone());
        self.record(plural, ns, "ADDED", &obj);
        Ok(obj)
    }

    /// Stores a new version (generation bumps on any spec/status change: no status subresource).
    fn store_update(
        &mut self,
        plural: &str,
        ns: &str,
        name: &str,
        old: &Value,
        mut new: Value,
    ) -> Value {
        let changed = old.get("spec") != new.get("spec") || old.get("status") != new.get("status");
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + i64::from(changed);
        let rv = self.bump();
        for key in ["uid", "creationTimestamp", "name", "namespace"] {
            new["metadata"][key] = old["metadata"][key].clone();
        }
        new["apiVersion"] = old["apiVersion"].clone();
        new["kind"] = old["kind"].clone();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        new["metadata"]["generation"] = json!(generation);
        self.objects.insert(
            (plural.to_owned(), ns.to_owned(), name.to_owned()),
            new.clone(),
        );
        self.record(plural, ns, "MODIFIED", &new);
        new
    }

    pub(crate) fn merge(
        &mut self,
        plural: &str,
        ns: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let old = self
            .get(plural, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(plural, name))?;
        if let Some(rv) = patch["metadata"]["resourceVersion"].as_str()
            && old["metadata"]["resourceVersion"].as_str() != Some(rv)
        {
            return Err(conflict(plural, name));
        }
        let mut new = old.clone();
        merge_patch(&mut new, patch);
        let kind = kind_of(plural).unwrap_or("");
        super::schema::admit(kind, plural, name, &mut new)?;
        Ok(self.store_update(plural, ns, name, &old, new))
    }

    pub(crate) fn replace(
        &mut self,
        plural: &str,
        ns: &str,
        name: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        let old = self
            .get(plural, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(plural, name))?;
        match body["metadata"]["resourceVersion"].as_str() {
            None | Some("") => {
                return Err(ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!(
                        "{plural}.velero.io \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
                    ),
                    name: Some(name.to_owned()),
                    plural: plural.into(),
                });
            }
            Some(rv) if old["metadata"]["resourceVersion"].as_str() != Some(rv) => {
                return Err(conflict(plural, name));
            }
            Some(_) => {}
        }
        let mut body = body;
        let kind = kind_of(plural).unwrap_or("");
        super::schema::admit(kind, plural, name, &mut body)?;
        Ok(self.store_update(plural, ns, name, &old, body))
    }

    pub(crate) fn delete(&mut self, plural: &str, ns: &str, name: &str) -> Result<Value, ApiError> {
        let obj = self
            .objects
            .remove(&(plural.to_owned(), ns.to_owned(), name.to_owned()))
            .ok_or_else(|| ApiError::not_found(plural, name))?;
        self.bump();
        self.record(plural, ns, "DELETED", &obj);
        Ok(obj)
    }

    /// A page: items sorted by name after the continue token's name.
    pub(crate) fn list(
        &self,
        plural: &str,
        ns: &str,
        filter: &Filter,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> (Vec<Value>, Option<String>, usize) {
        let matching: Vec<&Value> = self
            .objects
            .iter()
            .filter(|((p, n, name), _)| {
                p == plural && n == ns && after.is_none_or(|a| name.as_str() > a)
            })
            .map(|(_, v)| v)
            .filter(|v| filter.matches(v))
            .collect();
        let limit = limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let page: Vec<Value> = matching.iter().take(limit).map(|v| (*v).clone()).collect();
        let remaining = matching.len().saturating_sub(page.len());
        let next = (remaining > 0)
            .then(|| {
                page.last()
                    .and_then(|v| v["metadata"]["name"].as_str())
                    .map(str::to_owned)
            })
            .flatten();
        (page, next, remaining)
    }
}

fn conflict(plural: &str, name: &str) -> ApiError {
    ApiError {
        code: 409,
        reason: "Conflict",
        message: format!(
            "Operation cannot be fulfilled on {plural}.velero.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
        ),
        name: Some(name.to_owned()),
        plural: plural.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(&mut t, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(t, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }

    #[test]
    fn selectors_match() {
        let labels = json!({"velero.io/schedule-name": "daily", "team": "infra"});
        assert!(
            Selector::parse("velero.io/schedule-name=daily")
                .unwrap()
                .matches(&labels)
        );
        assert!(
            Selector::parse("team in (infra,apps),!missing")
                .unwrap()
                .matches(&labels)
        );
        assert!(
            !Selector::parse("team notin (infra)")
                .unwrap()
                .matches(&labels)
        );
        assert!(
            !Selector::parse("velero.io/schedule-name!=daily")
                .unwrap()
                .matches(&labels)
        );
        assert!(Selector::parse("a b c").is_err());
    }
}
