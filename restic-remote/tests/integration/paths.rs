//! Hostile file names survive the remote shell byte-exact: backup over SSH, restore, compare.

use futures::TryStreamExt as _;
use proptest::prelude::*;
use restic_remote::testing::Sshd;
use restic_remote::{BackupOptions, Repository, RestoreOptions};
use secrecy::SecretString;

use super::common;

fn nasty_name() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        " ",
        "'",
        "\"",
        "$(touch pwned)",
        "`id`",
        "\n",
        "é",
        "日本",
        "*",
        "?",
        ";",
        "&",
        "|",
        "\\",
        "-rf",
        "$HOME",
        "!",
        "#",
        "~",
        "{a,b}",
        "%",
        "\t",
    ]);
    (prop::collection::vec(pieces, 1..5), "[a-z]{1,4}")
        .prop_map(|(p, tail)| format!("{}{tail}", p.concat()))
        .prop_filter("not . or ..", |s| s != "." && s != ".." && !s.contains('/'))
}

#[test]
fn nasty_paths_back_up_and_restore_byte_exact_over_ssh() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sshd = Sshd::start_blocking().expect("sshd starts");
    let work = tempfile::tempdir().unwrap();
    let restic = rt.block_on(async {
        let ssh = common::connect(&sshd).await;
        let r = common::client(
            ssh,
            Repository::new(
                work.path().join("repo").display().to_string(),
                SecretString::from("pw".to_owned()),
            ),
            &work.path().join("cache"),
        );
        r.init().await.unwrap();
        r
    });
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 6,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(dir in nasty_name(), file in nasty_name(), content in prop::collection::vec(any::<u8>(), 0..64))| {
        let case = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let root = work.path().join(format!("case{case}")).join(&dir);
        std::fs::create_dir_all(&root).unwrap();
        let path = root.join(&file);
        std::fs::write(&path, &content).unwrap();
        let target = work.path().join(format!("restore{case}"));
        rt.block_on(async {
            let root_s = root.to_str().unwrap().to_owned();
            let summary = restic
                .backup(&BackupOptions::new([root_s.clone()]).with_tag(format!("case{case}")))
                .await.unwrap().finish().await.unwrap();
            assert_eq!(summary.total_files_processed, 1);
            let snaps = restic.snapshots(&restic_remote::SnapshotFilter::new().with_tags([format!("case{case}")])).await.unwrap();
            prop_assert_eq!(snaps.len(), 1);
            prop_assert_eq!(&snaps[0].paths, &vec![root_s]);
            let id = snaps[0].id.clone().unwrap();
            let mut run = restic.restore(&RestoreOptions::new(id, target.to_str().unwrap())).await.unwrap();
            while run.events().try_next().await.unwrap().is_some() {}
            run.finish().await.unwrap();
            Ok(())
        })?;
        let restored = target.join(path.strip_prefix("/").unwrap());
        prop_assert_eq!(std::fs::read(&restored).unwrap(), content);
        prop_assert!(!work.path().join("pwned").exists() && !std::path::Path::new("pwned").exists());
    });
}
