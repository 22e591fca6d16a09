//! `download_blob` against the fake's `download-decoded`: a snapshot's blobs read back
//! decoded, the manifest generated from the snapshot, refusals before and by the server.

use pbs_client::testing::FakeSnapshot;
use pbs_client::{BackupType, Error, GroupRef, MAX_BLOB_BYTES};

use super::common::fake;

#[tokio::test]
async fn blobs_and_the_manifest_read_back_decoded() {
    let pbs = fake().await;
    let config = b"cores: 2\nmemory: 2048\nname: web\n";
    pbs.add_snapshot(
        "store1",
        FakeSnapshot::new("", "vm", "777", 1_764_000_000)
            .with_blob("qemu-server.conf.blob", config),
    );
    let c = pbs.client_builder().build().unwrap();
    let group = GroupRef::new(BackupType::Vm, "777");
    let got = c
        .datastore("store1")
        .download_blob(&group, 1_764_000_000, "qemu-server.conf.blob")
        .await
        .unwrap();
    assert_eq!(got, config);

    // The manifest lists the other files with their sizes, for exactly this snapshot.
    let manifest: serde_json::Value = serde_json::from_slice(
        &c.datastore("store1")
            .download_blob(&group, 1_764_000_000, "index.json.blob")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["backup-type"], "vm");
    assert_eq!(manifest["backup-id"], "777");
    assert_eq!(manifest["backup-time"], 1_764_000_000);
    let files = manifest["files"].as_array().unwrap();
    let conf = files
        .iter()
        .find(|f| f["filename"] == "qemu-server.conf.blob")
        .unwrap();
    assert_eq!(conf["size"], config.len());
    assert!(files.iter().all(|f| f["filename"] != "index.json.blob"));

    // A blob the snapshot does not have, and a snapshot that does not exist: 400 from PBS.
    let err = c
        .datastore("store1")
        .download_blob(&group, 1_764_000_000, "pct.conf.blob")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("File open failed"), "{err}");
    let err = c
        .datastore("store1")
        .download_blob(&group, 1_764_000_001, "index.json.blob")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
}

#[tokio::test]
async fn only_plain_blob_names_are_requested() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let group = GroupRef::new(BackupType::Vm, "100");
    let before = pbs.requests();
    for name in [
        "drive-scsi0.img.fidx",
        "root.pxar.didx",
        "../index.json.blob",
        "a/b.blob",
        "",
    ] {
        let err = c
            .datastore("store1")
            .download_blob(&group, 1, name)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{name}: {err:?}");
    }
    assert_eq!(pbs.requests(), before, "a refused name reached the server");
}

#[tokio::test]
async fn an_oversized_answer_is_cut_off() {
    let pbs = fake().await;
    let big = vec![b'x'; MAX_BLOB_BYTES + 1];
    pbs.add_snapshot(
        "store1",
        FakeSnapshot::new("", "ct", "900", 1_764_000_000).with_blob("big.blob", &big),
    );
    let c = pbs.client_builder().build().unwrap();
    let err = c
        .datastore("store1")
        .download_blob(
            &GroupRef::new(BackupType::Ct, "900"),
            1_764_000_000,
            "big.blob",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
}
