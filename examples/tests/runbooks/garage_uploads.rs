//! `garage-ops uploads` against a real Garage: an upload left behind by an uploader that died
//! mid-way is listed with its parts and age, reported as stale (exit 1) once older than
//! `--older-than`, and `--clean` aborts it.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use garage_client::s3::{ListUploadsOptions, PutOptions, PutPayload};
use garage_client::testing::GarageServer;
use garage_client::{Credentials, MultipartConfig, S3Client};
use secrecy::ExposeSecret;

use crate::bed::*;

const GARAGE_OPS: &str = env!("CARGO_BIN_EXE_garage-ops");

fn config(garage: &GarageServer, dir: &std::path::Path) -> std::path::PathBuf {
    let key = write(&dir.join("secrets/access_key"), garage.access_key_id());
    let secret = write(
        &dir.join("secrets/secret_key"),
        garage.secret_access_key().expose_secret(),
    );
    let token = write(
        &dir.join("secrets/admin_token"),
        garage.admin_token().expose_secret(),
    );
    write(
        &dir.join("config.toml"),
        &format!(
            "[garage]\ns3_endpoint = \"{}\"\nadmin_endpoint = \"{}\"\nregion = \"{}\"\n\
             access_key_id = {{ file = \"{}\" }}\nsecret_access_key = {{ file = \"{}\" }}\n\
             admin_token = {{ file = \"{}\" }}\n",
            garage.s3_endpoint(),
            garage.admin_endpoint(),
            garage.region(),
            key.display(),
            secret.display(),
            token.display(),
        ),
    )
}

#[test]
fn garage_ops_lists_and_cleans_unfinished_uploads() {
    let garage = GarageServer::start_blocking().expect("garage starts (see GARAGE_BIN)");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&garage, dir.path());
    let cfg = cfg.to_str().expect("utf-8");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut mp = MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    let s3 = S3Client::builder()
        .with_endpoint(garage.s3_endpoint())
        .with_credentials(Credentials::new(
            garage.access_key_id(),
            garage.secret_access_key().clone(),
        ))
        .with_multipart(mp)
        .build()
        .expect("client");

    let out = run(
        GARAGE_OPS,
        &["--config", cfg, "uploads", "--older-than", "0"],
    );
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("no upload older than"),
        "{}",
        both(&out)
    );

    // An uploader that dies after two parts: its future is forgotten (no completion, no abort).
    runtime.block_on(async {
        let stream =
            futures::stream::iter(vec![Ok::<_, std::io::Error>(vec![7u8; 12 << 20].into())])
                .chain(futures::stream::pending());
        let mut put = Box::pin(s3.put_object(
            garage.bucket(),
            "dumps/db.sql",
            PutPayload::stream(stream),
            PutOptions::default(),
        ));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            tokio::select! {
                r = &mut put => panic!("the stalled upload ended: {r:?}"),
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            let uploads: Vec<_> = s3
                .list_multipart_uploads(garage.bucket(), ListUploadsOptions::default())
                .try_collect()
                .await
                .expect("list uploads");
            if let Some(u) = uploads.first()
                && s3
                    .list_parts(garage.bucket(), &u.key, &u.upload_id)
                    .await
                    .expect("list parts")
                    .len()
                    >= 2
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no upload with 2 parts after 30 s"
            );
        }
        std::mem::forget(put);
    });

    // Younger than a day: listed, not stale.
    let out = run(GARAGE_OPS, &["--config", cfg, "uploads", "--json"]);
    assert_code(&out, 0);
    let v = json(&out);
    let u = &v["uploads"][0];
    assert_eq!(u["bucket"], garage.bucket(), "{v:#}");
    assert_eq!(u["key"], "dumps/db.sql");
    assert_eq!(u["parts"], 2);
    assert_eq!(u["bytes"], 10 << 20);
    assert_eq!(u["stale"], false);
    // Stale with a zero age limit: exit 1 and a hint.
    let out = run(
        GARAGE_OPS,
        &[
            "--config",
            cfg,
            "uploads",
            "--older-than",
            "0",
            "--bucket",
            garage.bucket(),
        ],
    );
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("dumps/db.sql") && text.contains("--clean"),
        "{text}"
    );
    // Cleaned.
    let out = run(
        GARAGE_OPS,
        &[
            "--config",
            cfg,
            "uploads",
            "--older-than",
            "0",
            "--clean",
            "--json",
        ],
    );
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["cleaned"][garage.bucket()], 1, "{v:#}");
    let left: Vec<_> = runtime.block_on(async {
        s3.list_multipart_uploads(garage.bucket(), ListUploadsOptions::default())
            .try_collect()
            .await
            .expect("list uploads")
    });
    assert!(left.is_empty(), "{left:?}");
    let out = run(
        GARAGE_OPS,
        &["--config", cfg, "uploads", "--older-than", "soon"],
    );
    assert_code(&out, 2);
    assert_no_secrets(
        &out,
        &[
            garage.secret_access_key().expose_secret(),
            garage.admin_token().expose_secret(),
        ],
    );
}
