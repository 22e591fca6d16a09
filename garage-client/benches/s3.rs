//! S3 benchmark against a local Garage: garage-client vs aws-sdk-s3, object_store and
//! `curl --aws-sigv4`.
//!
//! ```sh
//! cargo bench -p garage-client --features bench-peers --bench s3            # 3 rounds, 1 GiB, 10,000 keys
//! cargo bench -p garage-client --features bench-peers --bench s3 -- --rounds 5 --size-mib 1024 --list 10000
//! cargo bench -p garage-client --features bench-peers --bench s3 -- --cases gc-put,gc-put-16x4,os-mpu,curl-put
//! ```
//!
//! The cases are the tables `CASES_BASE` and `CASES_PEERS` below. Without `--features
//! bench-peers` only garage-client and curl are measured. garage-client runs with its defaults
//! (`gc-put`, `gc-get`, `gc-list`) and PUTs with other part layouts (`gc-put-<MiB>x<in flight>`);
//! curl PUTs once with and once without a `x-amz-checksum-crc32c` header (`curl-put`,
//! `curl-put-crc32c`: the checksum's cost to Garage alone). Peers: `sdk-put` (one PUT),
//! `sdk-mpu` (multipart, 16 MiB parts, 4 in flight), `os-mpu` (same layout) and `os-mpu-6x3`,
//! `sdk-get`/`os-get` (one GET stream), `sdk-list`/`os-list`. Every case runs as its own child
//! process under `/usr/bin/time` (wall from the driver's clock around the child, client CPU and
//! peak RSS from `time`), in interleaved rounds with a rotating start; before each case the
//! driver syncs and waits until Garage is idle, and before each upload it stamps a fresh nonce
//! every 64 KiB of the source file so Garage cannot deduplicate blocks. Garage's CPU time over
//! the case comes from `/proc/<pid>/stat`. Medians are printed per case, with the ratio of each
//! wall time to the first case of its kind (garage-client's default). Every upload stays on disk
//! until the end (Garage frees replaced blocks minutes later): a run needs ≈ rounds × uploads ×
//! size of free space in the temp dir, and the driver checks for it first.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::{StreamExt, TryStreamExt};
use garage_client::s3::{GetOptions, ListOptions, PutOptions, PutPayload};
use garage_client::testing::GarageServer;
use garage_client::{Credentials, DownloadConfig, MultipartConfig, S3Client};
use secrecy::ExposeSecret;

/// What a case measures; ratios compare each case with the first case of its kind.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Put,
    Get,
    List,
}

/// Multipart layout of an upload case: part size in MiB and parts in flight.
#[derive(Clone, Copy)]
struct Layout {
    part_mib: usize,
    in_flight: usize,
}

const fn layout(part_mib: usize, in_flight: usize) -> Layout {
    Layout {
        part_mib,
        in_flight,
    }
}

/// Whether curl's single PUT carries an `x-amz-checksum-crc32c` header Garage verifies.
#[derive(Clone, Copy)]
enum Checksum {
    None,
    Crc32c,
}

/// How a case runs.
#[derive(Clone, Copy)]
enum Run {
    /// `put_object` of the source file; `None` keeps the crate's default `MultipartConfig`.
    GcPut(Option<Layout>),
    GcGet,
    GcList,
    /// `curl -T`: one PUT with `UNSIGNED-PAYLOAD`.
    CurlPut(Checksum),
    CurlGet,
    #[cfg(feature = "bench-peers")]
    Peer(peers::Case),
}

#[derive(Clone)]
struct Case {
    name: Cow<'static, str>,
    op: Op,
    run: Run,
}

const fn case(name: &'static str, op: Op, run: Run) -> Case {
    Case {
        name: Cow::Borrowed(name),
        op,
        run,
    }
}

/// garage-client's defaults first (each kind's ratio baseline), then its PUT at object_store's
/// layout, 16 MiB × 4 (garage-client always sends a CRC32C per part and one for the whole
/// object, which its public API cannot turn off), then curl with and without a CRC32C header
/// (the checksum's cost to Garage with nothing else changed). Other layouts: [`find_case`].
const CASES_BASE: &[Case] = &[
    case("gc-put", Op::Put, Run::GcPut(None)),
    case("gc-get", Op::Get, Run::GcGet),
    case("gc-list", Op::List, Run::GcList),
    case("gc-put-16x4", Op::Put, Run::GcPut(Some(layout(16, 4)))),
    case("curl-put", Op::Put, Run::CurlPut(Checksum::None)),
    case("curl-put-crc32c", Op::Put, Run::CurlPut(Checksum::Crc32c)),
    case("curl-get", Op::Get, Run::CurlGet),
];
/// object_store at its issue layout (16 MiB × 4) and at garage-client's default layout
/// (6 MiB × 3), both without checksums: the part layout's cost without the CRC32C.
#[cfg(feature = "bench-peers")]
const CASES_PEERS: &[Case] = &[
    case(
        "os-mpu",
        Op::Put,
        Run::Peer(peers::Case::OsMpu(layout(16, 4))),
    ),
    case(
        "os-mpu-6x3",
        Op::Put,
        Run::Peer(peers::Case::OsMpu(layout(6, 3))),
    ),
    case("sdk-mpu", Op::Put, Run::Peer(peers::Case::SdkMpu)),
    case("sdk-put", Op::Put, Run::Peer(peers::Case::SdkPut)),
    case("os-get", Op::Get, Run::Peer(peers::Case::OsGet)),
    case("sdk-get", Op::Get, Run::Peer(peers::Case::SdkGet)),
    case("os-list", Op::List, Run::Peer(peers::Case::OsList)),
    case("sdk-list", Op::List, Run::Peer(peers::Case::SdkList)),
];
#[cfg(not(feature = "bench-peers"))]
const CASES_PEERS: &[Case] = &[];

fn all_cases() -> impl Iterator<Item = &'static Case> {
    CASES_BASE.iter().chain(CASES_PEERS)
}

/// A case of the tables, or a PUT with any other layout: `gc-put-<MiB>x<in flight>` (and
/// `os-mpu-<MiB>x<in flight>` with the peers), e.g. `gc-put-12x3`.
fn find_case(name: &str) -> Option<Case> {
    if let Some(c) = all_cases().find(|c| c.name == name) {
        return Some(c.clone());
    }
    let (kind, l) = name.rsplit_once('-')?;
    let (mib, n) = l.split_once('x')?;
    let l = Layout {
        part_mib: mib.parse().ok().filter(|&m| m >= 5)?,
        in_flight: n.parse().ok().filter(|&n| n >= 1)?,
    };
    let run = match kind {
        "gc-put" => Run::GcPut(Some(l)),
        #[cfg(feature = "bench-peers")]
        "os-mpu" => Run::Peer(peers::Case::OsMpu(l)),
        _ => return None,
    };
    Some(Case {
        name: Cow::Owned(name.to_owned()),
        op: Op::Put,
        run,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("one") {
        let name = args.get(2).expect("case name");
        let case = find_case(name).unwrap_or_else(|| panic!("unknown case {name}"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let (bytes, items) = rt.block_on(run_case(&case));
        eprintln!(
            "op {:.3} bytes {bytes} items {items}",
            started.elapsed().as_secs_f64()
        );
        return;
    }
    let opt = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--cases")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(str::to_owned).collect());
    if let Some(unknown) = only.iter().flatten().find(|n| find_case(n).is_none()) {
        eprintln!(
            "unknown case {unknown}; cases: {}, gc-put-<MiB>x<in flight>, os-mpu-<MiB>x<in flight>",
            all_cases()
                .map(|c| c.name.as_ref())
                .collect::<Vec<_>>()
                .join(",")
        );
        std::process::exit(2);
    }
    driver(
        only,
        opt("--rounds", 3) as usize,
        opt("--size-mib", 1024),
        opt("--list", 10_000) as usize,
    );
}

struct Env {
    endpoint: String,
    bucket: String,
    key_id: String,
    secret: String,
    src: PathBuf,
}

fn env() -> Env {
    let v = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} not set (run the driver)"));
    Env {
        endpoint: v("BENCH_ENDPOINT"),
        bucket: v("BENCH_BUCKET"),
        key_id: v("BENCH_KEY_ID"),
        secret: v("BENCH_SECRET"),
        src: v("BENCH_SRC").into(),
    }
}

/// garage-client with its defaults, the upload `layout` if given, and the download tuning from
/// `BENCH_DL_PART_MIB` and `BENCH_DL_STREAMS` (for tuning runs).
fn gc_client(e: &Env, layout: Option<Layout>) -> S3Client {
    let var = |n: &str| std::env::var(n).ok().and_then(|v| v.parse::<u64>().ok());
    let mut dl = DownloadConfig::default();
    if let Some(mib) = var("BENCH_DL_PART_MIB") {
        dl.part_size = mib << 20;
    }
    if let Some(n) = var("BENCH_DL_STREAMS") {
        dl.concurrency = n as usize;
    }
    let mut mp = MultipartConfig::default();
    if let Some(l) = layout {
        mp.part_size = l.part_mib << 20;
        mp.concurrency = l.in_flight;
    }
    S3Client::builder()
        .with_endpoint(&e.endpoint)
        .with_credentials(Credentials::new(&e.key_id, e.secret.clone().into()))
        .with_download(dl)
        .with_multipart(mp)
        .build()
        .unwrap()
}

async fn run_case(case: &Case) -> (u64, u64) {
    let e = env();
    match case.run {
        Run::GcPut(layout) => {
            let r = gc_client(&e, layout)
                .put_object(
                    &e.bucket,
                    &format!("put/{}.bin", case.name),
                    PutPayload::file(&e.src),
                    PutOptions::default(),
                )
                .await
                .unwrap();
            (r.size, 1)
        }
        Run::GcGet => {
            let mut s = gc_client(&e, None)
                .get_object(&e.bucket, "get/big.bin", GetOptions::default())
                .await
                .unwrap();
            let mut n = 0u64;
            while let Some(c) = s.next().await {
                n += c.unwrap().len() as u64;
            }
            (n, 1)
        }
        Run::GcList => {
            let n = gc_client(&e, None)
                .list_objects(&e.bucket, ListOptions::default().with_prefix("list/"))
                .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                .await
                .unwrap();
            (0, n)
        }
        Run::CurlPut(_) | Run::CurlGet => unreachable!("curl runs from the driver"),
        #[cfg(feature = "bench-peers")]
        Run::Peer(p) => peers::run(p, &case.name, &e).await,
    }
}

#[cfg(feature = "bench-peers")]
mod peers {
    use super::{Env, Layout};
    use aws_sdk_s3::config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation,
    };
    use aws_sdk_s3::primitives::{ByteStream, Length};
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    use futures::StreamExt;

    /// The peers' cases.
    #[derive(Clone, Copy)]
    pub enum Case {
        /// aws-sdk-s3, one PUT.
        SdkPut,
        /// aws-sdk-s3 multipart, 16 MiB parts, 4 in flight.
        SdkMpu,
        SdkGet,
        SdkList,
        /// object_store's `WriteMultipart` (no checksum).
        OsMpu(Layout),
        OsGet,
        OsList,
    }

    fn client(e: &Env) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&e.endpoint)
            .region(Region::new("garage"))
            .credentials_provider(Credentials::new(&e.key_id, &e.secret, None, None, "bench"))
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub async fn run(case: Case, name: &str, e: &Env) -> (u64, u64) {
        let c = client(e);
        let key = format!("put/{name}.bin");
        match case {
            Case::SdkPut => {
                let body = ByteStream::from_path(&e.src).await.unwrap();
                c.put_object()
                    .bucket(&e.bucket)
                    .key(&key)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (std::fs::metadata(&e.src).unwrap().len(), 1)
            }
            Case::SdkMpu => {
                const PART: u64 = 16 << 20;
                let size = std::fs::metadata(&e.src).unwrap().len();
                let key = key.as_str();
                let up = c
                    .create_multipart_upload()
                    .bucket(&e.bucket)
                    .key(key)
                    .send()
                    .await
                    .unwrap();
                let id = up.upload_id().unwrap().to_owned();
                let n = size.div_ceil(PART);
                let mut parts: Vec<CompletedPart> = futures::stream::iter(0..n)
                    .map(|i| {
                        let (c, id, src, bucket) =
                            (c.clone(), id.clone(), e.src.clone(), e.bucket.clone());
                        async move {
                            let len = PART.min(size - i * PART);
                            let body = ByteStream::read_from()
                                .path(src)
                                .offset(i * PART)
                                .length(Length::Exact(len))
                                .build()
                                .await
                                .unwrap();
                            let r = c
                                .upload_part()
                                .bucket(bucket)
                                .key(key)
                                .upload_id(id)
                                .part_number(i as i32 + 1)
                                .body(body)
                                .send()
                                .await
                                .unwrap();
                            CompletedPart::builder()
                                .part_number(i as i32 + 1)
                                .set_e_tag(r.e_tag().map(str::to_owned))
                                .build()
                        }
                    })
                    .buffer_unordered(4)
                    .collect()
                    .await;
                parts.sort_by_key(|p| p.part_number());
                c.complete_multipart_upload()
                    .bucket(&e.bucket)
                    .key(key)
                    .upload_id(id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                (size, 1)
            }
            Case::SdkGet => {
                let r = c
                    .get_object()
                    .bucket(&e.bucket)
                    .key("get/big.bin")
                    .send()
                    .await
                    .unwrap();
                let mut body = r.body;
                let mut n = 0u64;
                while let Some(chunk) = body.next().await {
                    n += chunk.unwrap().len() as u64;
                }
                (n, 1)
            }
            Case::SdkList => {
                let mut pages = c
                    .list_objects_v2()
                    .bucket(&e.bucket)
                    .prefix("list/")
                    .into_paginator()
                    .send();
                let mut n = 0u64;
                while let Some(p) = pages.next().await {
                    n += p.unwrap().contents().len() as u64;
                }
                (0, n)
            }
            Case::OsMpu(_) | Case::OsGet | Case::OsList => object_store_case(case, &key, e).await,
        }
    }

    /// object_store configured as the issue measured it: path style, unsigned payload.
    async fn object_store_case(case: Case, key: &str, e: &Env) -> (u64, u64) {
        use object_store::path::Path;
        use object_store::{ObjectStore, ObjectStoreExt};
        use tokio::io::AsyncReadExt;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&e.endpoint)
            .with_bucket_name(&e.bucket)
            .with_region("garage")
            .with_access_key_id(&e.key_id)
            .with_secret_access_key(&e.secret)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_unsigned_payload(true)
            .build()
            .unwrap();
        match case {
            Case::OsMpu(layout) => {
                let upload = store.put_multipart(&Path::from(key)).await.unwrap();
                let mut w = object_store::WriteMultipart::new_with_chunk_size(
                    upload,
                    layout.part_mib << 20,
                );
                let mut f = tokio::fs::File::open(&e.src).await.unwrap();
                let mut buf = vec![0u8; 8 << 20];
                let mut size = 0u64;
                loop {
                    let n = f.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    w.wait_for_capacity(layout.in_flight).await.unwrap();
                    w.write(&buf[..n]);
                    size += n as u64;
                }
                w.finish().await.unwrap();
                (size, 1)
            }
            Case::OsGet => {
                let mut s = store
                    .get(&Path::from("get/big.bin"))
                    .await
                    .unwrap()
                    .into_stream();
                let mut n = 0u64;
                while let Some(c) = s.next().await {
                    n += c.unwrap().len() as u64;
                }
                (n, 1)
            }
            Case::OsList => {
                let n = store
                    .list(Some(&Path::from("list")))
                    .fold(0u64, |n, m| async move {
                        m.unwrap();
                        n + 1
                    })
                    .await;
                (0, n)
            }
            _ => unreachable!("not an object_store case"),
        }
    }
}

struct Sample {
    round: usize,
    wall: f64,
    user: f64,
    sys: f64,
    rss_kib: u64,
    srv_cpu: f64,
}

fn garage_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn wait_idle(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let a = garage_cpu(pid);
        std::thread::sleep(Duration::from_millis(500));
        if garage_cpu(pid) - a < 0.05 || Instant::now() > deadline {
            return;
        }
    }
}

/// Writes a fresh 16-byte nonce every 64 KiB so no 1 MiB block repeats between uploads.
fn stamp(src: &Path, size: u64, round: u64) {
    let mut f = std::fs::OpenOptions::new().write(true).open(src).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut off = 0u64;
    while off + 16 <= size {
        f.seek(SeekFrom::Start(off)).unwrap();
        f.write_all(&(nanos ^ (u128::from(off) << 64) ^ u128::from(round)).to_le_bytes())
            .unwrap();
        off += 64 << 10;
    }
}

fn make_source(path: &Path, size: u64) {
    let mut f = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(path).unwrap());
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for c in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

/// Free bytes on the file system holding `dir` (from `df`), if it can be read.
fn free_bytes(dir: &Path) -> Option<u64> {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

fn driver(only: Option<Vec<String>>, rounds: usize, size_mib: u64, list_n: usize) {
    let size = size_mib << 20;
    let cases: Vec<Case> = match only {
        Some(names) => names.iter().filter_map(|n| find_case(n)).collect(),
        None => all_cases().cloned().collect(),
    };
    // Garage frees the blocks of overwritten objects only minutes later, so every upload of
    // every round stays on disk until the bench ends.
    let uploads = cases.iter().filter(|c| c.op == Op::Put).count() as u64;
    let need = (rounds as u64 * uploads + 2) * size + list_n as u64 * (8 << 10);
    let tmp = std::env::temp_dir();
    if let Some(free) = free_bytes(&tmp)
        && free < need + (need / 10)
    {
        eprintln!(
            "need ≈ {} MiB free in {} ({rounds} rounds × {uploads} uploads × {size_mib} MiB + fixtures), have {} MiB",
            need >> 20,
            tmp.display(),
            free >> 20
        );
        std::process::exit(2);
    }
    let g = GarageServer::start_blocking().expect("garage starts (GARAGE_BIN)");
    let pid = g.pid().expect("garage runs");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bench-src.bin");
    let timefile = dir.path().join("time.txt");
    eprintln!("writing {size_mib} MiB source file…");
    make_source(&src, size);
    let e = Env {
        endpoint: g.s3_endpoint(),
        bucket: g.bucket().to_owned(),
        key_id: g.access_key_id().to_owned(),
        secret: g.secret_access_key().expose_secret().to_owned(),
        src: src.clone(),
    };
    eprintln!("fixtures: get/big.bin and {list_n} list/ keys…");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = gc_client(&e, None);
        c.put_object(
            &e.bucket,
            "get/big.bin",
            PutPayload::file(&src),
            PutOptions::default(),
        )
        .await
        .unwrap();
        futures::stream::iter(0..list_n)
            .map(|i| {
                let (c, b) = (c.clone(), e.bucket.clone());
                async move {
                    c.put_object(
                        &b,
                        &format!("list/{i:05}"),
                        vec![b'x'; 1024].into(),
                        PutOptions::default(),
                    )
                    .await
                }
            })
            .buffer_unordered(32)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    });
    let exe = std::env::current_exe().unwrap();
    let mut samples: BTreeMap<Cow<'static, str>, Vec<Sample>> = BTreeMap::new();
    for round in 0..rounds {
        for k in 0..cases.len() {
            let case = &cases[(k + round) % cases.len()];
            if case.op == Op::Put {
                stamp(&src, size, round as u64);
            }
            let mut cmd = Command::new("/usr/bin/time");
            cmd.arg("-f").arg("%U %S %M").arg("-o").arg(&timefile);
            match case.run {
                Run::CurlPut(_) | Run::CurlGet => curl_args(&mut cmd, case, &e),
                _ => {
                    cmd.arg(&exe)
                        .args(["one", &case.name])
                        .env("BENCH_ENDPOINT", &e.endpoint)
                        .env("BENCH_BUCKET", &e.bucket)
                        .env("BENCH_KEY_ID", &e.key_id)
                        .env("BENCH_SECRET", &e.secret)
                        .env("BENCH_SRC", &src);
                }
            }
            let _ = Command::new("sync").status();
            wait_idle(pid);
            let cpu0 = garage_cpu(pid);
            let t0 = Instant::now();
            let out = cmd.output().expect("run case");
            let wall = t0.elapsed().as_secs_f64();
            let srv_cpu = garage_cpu(pid) - cpu0;
            if !out.status.success() {
                eprintln!(
                    "run {} {}: FAILED: {}",
                    round + 1,
                    case.name,
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            let t = std::fs::read_to_string(&timefile).unwrap_or_default();
            let v: Vec<f64> = t
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            let s = Sample {
                round,
                wall,
                user: v.first().copied().unwrap_or(0.0),
                sys: v.get(1).copied().unwrap_or(0.0),
                rss_kib: v.get(2).copied().unwrap_or(0.0) as u64,
                srv_cpu,
            };
            eprintln!(
                "run {} {:<15} wall {:6.3}s user {:5.2}s sys {:5.2}s rss {:7} KiB srv_cpu {:5.2}s",
                round + 1,
                case.name,
                s.wall,
                s.user,
                s.sys,
                s.rss_kib,
                s.srv_cpu
            );
            samples.entry(case.name.clone()).or_default().push(s);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!(
        "\nmedians over {rounds} rounds ({size_mib} MiB object, {list_n} keys); ratio = wall / wall of \
         the first case of its kind, paired = median over rounds of the same ratio within a round:"
    );
    println!(
        "{:<16} {:>8} {:>6} {:>6} {:>7} {:>6} {:>8} {:>8}",
        "case", "wall s", "ratio", "paired", "cpu s", "MiB/s", "rss MiB", "srv cpu"
    );
    let mut base: BTreeMap<Op, (f64, &Vec<Sample>)> = BTreeMap::new();
    let mut sorted: Vec<&Case> = cases.iter().collect();
    sorted.sort_by_key(|c| c.op);
    for case in sorted {
        let Some(s) = samples.get(&case.name) else {
            continue;
        };
        let wall = median(s.iter().map(|x| x.wall).collect());
        let cpu = median(s.iter().map(|x| x.user + x.sys).collect());
        let rss = median(s.iter().map(|x| x.rss_kib as f64).collect()) / 1024.0;
        let srv = median(s.iter().map(|x| x.srv_cpu).collect());
        let (base_wall, base_samples) = *base.entry(case.op).or_insert((wall, s));
        let ratio = wall / base_wall;
        let paired = median(
            s.iter()
                .filter_map(|x| {
                    let b = base_samples.iter().find(|b| b.round == x.round)?;
                    Some(x.wall / b.wall)
                })
                .collect(),
        );
        let rate = if case.op == Op::List {
            String::from("-")
        } else {
            format!("{:.0}", size_mib as f64 / wall)
        };
        println!(
            "{:<16} {wall:>8.3} {ratio:>6.2} {paired:>6.2} {cpu:>7.2} {rate:>6} {rss:>8.1} {srv:>8.2}",
            case.name
        );
    }
}

/// `curl --aws-sigv4` with `UNSIGNED-PAYLOAD`; the CRC32C variant reads the source file for its
/// header before the clock starts.
fn curl_args(cmd: &mut Command, case: &Case, e: &Env) {
    let url = |key: &str| format!("{}/{}/{key}", e.endpoint, e.bucket);
    cmd.args([
        "curl",
        "-sS",
        "-f",
        "-o",
        "/dev/null",
        "--aws-sigv4",
        "aws:amz:garage:s3",
    ])
    .arg("--user")
    .arg(format!("{}:{}", e.key_id, e.secret))
    .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]);
    match case.run {
        Run::CurlPut(checksum) => {
            if let Checksum::Crc32c = checksum {
                let crc = crc32c_of(&e.src);
                let b64 = base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes());
                cmd.arg("-H").arg(format!("x-amz-checksum-crc32c: {b64}"));
            }
            cmd.arg("-T")
                .arg(&e.src)
                .arg(url(&format!("put/{}.bin", case.name)));
        }
        _ => {
            cmd.arg(url("get/big.bin"));
        }
    }
}

fn crc32c_of(path: &Path) -> u32 {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 8 << 20];
    let mut crc = 0;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return crc;
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
    }
}
