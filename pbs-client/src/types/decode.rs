//! Decoding PBS's `{"data": …}` envelope (public: reusable on raw answers).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{TaskLog, TaskLogLine};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    active: Option<bool>,
}

fn decode_envelope<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<Envelope<T>> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::Decode {
            endpoint: endpoint.to_owned(),
            message: format!("at {path}: {}", e.into_inner()),
        }
    })
}

/// Decodes a successful PBS answer `{"data": …}` into `T`.
///
/// # Errors
///
/// [`Error::Decode`] with the JSON path of the first bad field when `body` is not that shape.
pub fn decode_data<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    decode_envelope(endpoint, body).map(|e| e.data)
}

/// Decodes a list answer with PBS's top-level `total` (task lists); `total` defaults to the
/// number of items.
///
/// # Errors
///
/// As [`decode_data`].
pub fn decode_list_with_total<T: DeserializeOwned>(
    endpoint: &str,
    body: &[u8],
) -> Result<(Vec<T>, u64)> {
    let env: Envelope<Vec<T>> = decode_envelope(endpoint, body)?;
    let total = env.total.unwrap_or(env.data.len() as u64);
    Ok((env.data, total))
}

/// Decodes a task log page `{"data":[{"n":1,"t":"…"}],"total":N,"active":bool}`.
///
/// # Errors
///
/// As [`decode_data`].
pub fn decode_task_log(endpoint: &str, body: &[u8]) -> Result<TaskLog> {
    let env: Envelope<Vec<TaskLogLine>> = decode_envelope(endpoint, body)?;
    Ok(TaskLog {
        total: env.total.unwrap_or(env.data.len() as u64),
        active: env.active,
        lines: env.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::VersionInfo;

    #[test]
    fn decode_errors_are_typed() {
        let e = decode_data::<VersionInfo>("/version", br#"{"data":{"version":3}}"#).unwrap_err();
        assert!(e.is_decode());
        assert!(e.to_string().contains("data.version"), "{e}");
        assert!(
            decode_data::<VersionInfo>("/version", b"")
                .unwrap_err()
                .is_decode()
        );
        assert!(
            decode_data::<VersionInfo>("/version", b"<html>")
                .unwrap_err()
                .is_decode()
        );
    }

    #[test]
    fn task_ids_decode_as_upids_and_a_bad_one_is_a_decode_error_with_its_path() {
        use crate::types::TaskListItem;
        let item = |upid: &str| {
            serde_json::json!({"upid": upid, "node": "localhost", "pid": 1000, "pstart": 43690,
                "starttime": 1710227456, "worker_type": "verify", "user": "root@pam"})
            .to_string()
        };
        let good =
            r"UPID:pbs:000003E8:0000AAAA:00000001:65F00000:verify:store1\x3avm\x2d100:root@pam:";
        let body = format!(r#"{{"data":[{}],"total":1}}"#, item(good));
        let (tasks, _) = decode_list_with_total::<TaskListItem>("/tasks", body.as_bytes()).unwrap();
        assert_eq!(tasks[0].upid.worker_id.as_deref(), Some("store1:vm-100"));
        assert_eq!(tasks[0].upid.to_string(), good);
        let body = format!(
            r#"{{"data":[{},{}],"total":2}}"#,
            item(good),
            item("UPID:x")
        );
        let e = decode_list_with_total::<TaskListItem>("/tasks", body.as_bytes()).unwrap_err();
        assert!(e.is_decode(), "{e:?}");
        assert!(e.to_string().contains("data[1].upid"), "{e}");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::types::*;
    use proptest::prelude::*;

    const SNAPSHOTS: &str = r#"{"data":[{"backup-type":"vm","backup-id":"100","backup-time":1717200000,"verification":{"state":"ok","upid":"UPID:pbs:000003E8:0000AAAA:00000001:65F00000:verify:store1:root@pam:"},"files":[{"filename":"index.json.blob","crypt-mode":"none","size":12}],"size":12,"owner":"root@pam","protected":true}],"total":1}"#;

    proptest! {
        #[test]
        fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_data::<Vec<SnapshotListItem>>("/s", &body);
            let _ = decode_data::<TaskStatus>("/t", &body);
            let _ = decode_list_with_total::<TaskListItem>("/l", &body);
            let _ = decode_task_log("/log", &body);
            let _ = decode_data::<Vec<PruneJobStatus>>("/p", &body);
        }

        #[test]
        fn truncated_is_a_decode_error(cut in 0usize..SNAPSHOTS.len()) {
            let e = decode_data::<Vec<SnapshotListItem>>("/s", &SNAPSHOTS.as_bytes()[..cut]).unwrap_err();
            prop_assert!(e.is_decode());
        }

        #[test]
        fn mutated_bodies_never_panic(pos in 0usize..SNAPSHOTS.len(), byte in any::<u8>()) {
            let mut body = SNAPSHOTS.as_bytes().to_vec();
            body[pos] = byte;
            let _ = decode_data::<Vec<SnapshotListItem>>("/s", &body);
        }

        #[test]
        fn json_values_never_panic(v in arb_json()) {
            let body = serde_json::to_vec(&serde_json::json!({"data": v})).unwrap();
            let _ = decode_data::<Vec<GroupListItem>>("/g", &body);
            let _ = decode_data::<GarbageCollectionJobStatus>("/gc", &body);
            let _ = decode_data::<Vec<DataStoreUsage>>("/u", &body);
        }

        #[test]
        fn error_bodies_never_panic(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let e = Error::from_response("/x", status, &body, None);
            prop_assert_eq!(e.status(), Some(status));
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[a-z-]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::hash_map(
                    prop_oneof![
                        Just("backup-type".to_owned()),
                        Just("backup-id".to_owned()),
                        Just("store".to_owned()),
                        "[a-z-]{1,8}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
