//! Shared helpers: clients pointed at a test-bed Garage.

use garage_client::testing::GarageServer;
use garage_client::{Credentials, MultipartConfig, S3Client};

pub async fn start() -> GarageServer {
    GarageServer::start()
        .await
        .expect("garage starts (see GARAGE_BIN)")
}

pub fn credentials(g: &GarageServer) -> Credentials {
    g.credentials()
}

pub fn s3(g: &GarageServer) -> S3Client {
    g.client_builder().build().expect("client builds")
}

/// Small multipart threshold/parts so tests exercise multipart with modest sizes.
pub fn s3_small_parts(g: &GarageServer) -> S3Client {
    let mut mp = MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    mp.concurrency = 3;
    S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(credentials(g))
        .with_multipart(mp)
        .build()
        .expect("client builds")
}

/// Deterministic pseudo-random bytes (xorshift), distinct per seed so Garage cannot deduplicate.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn admin(g: &GarageServer) -> garage_client::AdminClient {
    g.admin_client_builder()
        .build()
        .expect("admin client builds")
}

/// Polls the bucket's unfinished-multipart-upload counter (Garage updates its counters shortly
/// after each write) until `done` holds; false after 5 s.
pub async fn wait_for_unfinished_uploads(
    a: &garage_client::AdminClient,
    bucket: &str,
    done: impl Fn(i64) -> bool,
) -> bool {
    for _ in 0..250 {
        let info = a.bucket_info_by_alias(bucket).await.unwrap();
        if done(info.unfinished_multipart_uploads) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

/// The Python of the venv holding the servers' own clients (`BACKUP_STACK_PYTHON`, created by
/// scripts/test.sh from scripts/fidelity/requirements.txt). Panics with the fix when unset.
pub fn fidelity_python() -> std::path::PathBuf {
    match std::env::var_os("BACKUP_STACK_PYTHON").filter(|v| !v.is_empty()) {
        Some(p) => p.into(),
        None => panic!(
            "BACKUP_STACK_PYTHON is not set: run scripts/test.sh, or create the venv with \
             `python3 -m venv ~/.cache/backup-stack/venv-fidelity && \
             ~/.cache/backup-stack/venv-fidelity/bin/pip install -r scripts/fidelity/requirements.txt` \
             and export BACKUP_STACK_PYTHON=~/.cache/backup-stack/venv-fidelity/bin/python"
        ),
    }
}

/// A script of scripts/fidelity/ (from the workspace root).
pub fn fidelity_script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/fidelity")
        .join(name)
}
