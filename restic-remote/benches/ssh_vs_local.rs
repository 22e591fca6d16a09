//! `restic snapshots --json` and a streamed `restic ls` of a large snapshot, over SSH (a real
//! sshd on loopback) against the same commands run locally, plus the client's memory while
//! streaming every `ls` entry.
//!
//! ```text
//! cargo bench -p restic-remote --bench ssh_vs_local
//! BENCH_LS_ENTRIES=100000 cargo bench -p restic-remote --bench ssh_vs_local   # smaller tree
//! ```
//!
//! The tree (`BENCH_LS_ENTRIES` empty files, default 1,000,000) and its repository are generated
//! once and cached under `target/restic-remote-bench/`.

use futures::TryStreamExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use restic_remote::testing::Sshd;
use restic_remote::{
    BackupOptions, LsEntry, Repository, Restic, SnapshotFilter, SshTransport, Transport,
};
use secrecy::SecretString;

const PASSWORD: &str = "bench-password";

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn generate_tree(tree: &Path, entries: usize) {
    let marker = tree.join(".complete");
    if marker.exists() {
        return;
    }
    eprintln!(
        "generating {entries} files under {} (once)…",
        tree.display()
    );
    let per_dir = 1000;
    for i in 0..entries {
        let dir = tree.join(format!("d{:05}", i / per_dir));
        if i % per_dir == 0 {
            std::fs::create_dir_all(&dir).unwrap();
        }
        std::fs::File::create(dir.join(format!("f{i:07}"))).unwrap();
    }
    std::fs::write(marker, b"").unwrap();
}

fn client(t: impl Into<Transport>, repo: &Path, cache: &Path) -> Restic {
    Restic::builder()
        .with_transport(t)
        .with_repository(Repository::new(
            repo.display().to_string(),
            SecretString::from(PASSWORD.to_owned()),
        ))
        .with_cache_dir(cache.display().to_string())
        .build()
        .unwrap()
}

async fn ensure_repo(repo: &Path, tree: &Path, cache: &Path) -> String {
    let marker = repo.join(".bench-snapshot");
    if let Ok(id) = std::fs::read_to_string(&marker) {
        return id;
    }
    let _ = std::fs::remove_dir_all(repo);
    eprintln!(
        "backing up {} into {} (once)…",
        tree.display(),
        repo.display()
    );
    let r = client(Transport::local(), repo, cache);
    r.init().await.unwrap();
    let mut run = r
        .backup(&BackupOptions::new([tree.display().to_string()]).with_exclude(".complete"))
        .await
        .unwrap();
    while run.events().try_next().await.unwrap().is_some() {}
    let summary = run.finish().await.unwrap();
    let snaps = r.snapshots(&SnapshotFilter::new()).await.unwrap();
    let id = snaps.last().and_then(|s| s.id.clone()).unwrap();
    eprintln!("snapshot {id}: {summary:?}");
    std::fs::write(&marker, &id).unwrap();
    id
}

struct LsRun {
    elapsed: Duration,
    nodes: usize,
    rss_at_10pct_kib: u64,
    rss_end_kib: u64,
}

async fn stream_ls(r: &Restic, snapshot: &str, expected: usize) -> LsRun {
    let start = Instant::now();
    let mut ls = r.ls(snapshot, &[]);
    let mut nodes = 0;
    let mut rss_at_10pct_kib = 0;
    while let Some(e) = ls.try_next().await.unwrap() {
        if let LsEntry::Node(n) = e {
            std::hint::black_box(&n);
            nodes += 1;
            if nodes == expected / 10 {
                rss_at_10pct_kib = rss_kib("VmRSS:");
            }
        }
    }
    LsRun {
        elapsed: start.elapsed(),
        nodes,
        rss_at_10pct_kib,
        rss_end_kib: rss_kib("VmRSS:"),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special: only run
    // the measurement when invoked as a benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("ssh_vs_local: run with `cargo bench -p restic-remote --bench ssh_vs_local`");
        return;
    }
    let entries: usize = std::env::var("BENCH_LS_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let base: PathBuf = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("restic-remote-bench");
    std::fs::create_dir_all(&base).unwrap();
    let base = base.canonicalize().unwrap();
    let tree = base.join(format!("tree-{entries}"));
    let repo = base.join(format!("repo-{entries}"));
    let cache = base.join("cache");
    generate_tree(&tree, entries);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let snapshot = ensure_repo(&repo, &tree, &cache).await;
        let sshd = Sshd::start().await.expect("sshd");
        let ssh = SshTransport::builder(sshd.host())
            .with_port(sshd.port())
            .with_user(sshd.user())
            .with_key_file(sshd.client_key_path())
            .with_known_hosts(sshd.known_hosts_path())
            .connect()
            .await
            .unwrap();
        let local = client(Transport::local(), &repo, &cache);
        let remote = client(ssh, &repo, &cache);
        local.version().await.unwrap();
        remote.version().await.unwrap();

        // Fixed cost of one command: `restic version` with a fresh client (no repository).
        let (mut v_local, mut v_ssh) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            let t = Instant::now();
            client(Transport::local(), &repo, &cache)
                .version()
                .await
                .unwrap();
            v_local.push(t.elapsed());
            let t = Instant::now();
            client(remote.transport().clone(), &repo, &cache)
                .version()
                .await
                .unwrap();
            v_ssh.push(t.elapsed());
        }

        let rss_before = rss_kib("VmRSS:");
        let (mut ls_local, mut ls_ssh) = (Vec::new(), Vec::new());
        for _ in 0..2 {
            ls_local.push(stream_ls(&local, &snapshot, entries).await);
            ls_ssh.push(stream_ls(&remote, &snapshot, entries).await);
        }
        let (mut snap_local, mut snap_ssh) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            let t = Instant::now();
            assert_eq!(
                local.snapshots(&SnapshotFilter::new()).await.unwrap().len(),
                1
            );
            snap_local.push(t.elapsed());
            let t = Instant::now();
            assert_eq!(
                remote
                    .snapshots(&SnapshotFilter::new())
                    .await
                    .unwrap()
                    .len(),
                1
            );
            snap_ssh.push(t.elapsed());
        }
        let vl = median(v_local);
        let vs = median(v_ssh);
        let sl = median(snap_local);
        let ss = median(snap_ssh);
        let ll = ls_local.iter().map(|r| r.elapsed).min().unwrap();
        let ls = ls_ssh.iter().map(|r| r.elapsed).min().unwrap();
        println!(
            "restic-remote ssh_vs_local ({entries} ls entries, restic {})",
            local.version().await.unwrap()
        );
        println!(
            "{:<28} {:>12} {:>12} {:>8}",
            "operation", "local", "ssh", "ssh/local"
        );
        println!(
            "{:<28} {:>12?} {:>12?} {:>8.2}",
            "version (median/10)",
            vl,
            vs,
            vs.as_secs_f64() / vl.as_secs_f64()
        );
        println!(
            "{:<28} {:>12?} {:>12?} {:>8.2}",
            "snapshots --json (median/10)",
            sl,
            ss,
            ss.as_secs_f64() / sl.as_secs_f64()
        );
        println!(
            "{:<28} {:>12?} {:>12?} {:>8.2}",
            "ls --json streamed (best/2)",
            ll,
            ls,
            ls.as_secs_f64() / ll.as_secs_f64()
        );
        for (name, runs) in [("local", &ls_local), ("ssh", &ls_ssh)] {
            for r in runs.iter() {
                assert_eq!(
                    r.nodes,
                    entries + entries.div_ceil(1000) + count_parents(&tree),
                    "ls node count"
                );
                println!(
                    "ls {name:<5} nodes {:>8}  RSS at 10%: {:>7} KiB  at end: {:>7} KiB",
                    r.nodes, r.rss_at_10pct_kib, r.rss_end_kib
                );
            }
        }
        let fixed = vs.saturating_sub(vl);
        println!(
            "per-command SSH cost (channel + login shell): {fixed:?}; ls ratio without it: {:.2}",
            ls.saturating_sub(fixed).as_secs_f64() / ll.as_secs_f64()
        );
        println!(
            "client RSS before ls: {rss_before} KiB, peak (VmHWM): {} KiB",
            rss_kib("VmHWM:")
        );
    });
}

/// Directories above the tree that `ls` lists too (the snapshot stores the absolute path).
fn count_parents(tree: &Path) -> usize {
    tree.ancestors().count() - 1
}
