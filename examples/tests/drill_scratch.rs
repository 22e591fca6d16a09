//! `restore-drill` for a plan on an SSH host (real sshd, real restic, real Garage): the restore
//! lands in a private directory made on the host with `mktemp -d` under `ssh.scratch_dir`,
//! checked, and removed afterwards — also when the drill fails — unless `--keep`; a
//! `scratch_dir` others could tamper with is refused (issue 14 item 6).

#[path = "runbooks/bed.rs"]
mod bed;

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use bed::*;
use garage_client::testing::GarageServer;
use restic_remote::testing::Sshd;
use restic_remote::{BackupOptions, Repository, Restic};
use secrecy::{ExposeSecret as _, SecretString};

const DRILL: &str = env!("CARGO_BIN_EXE_restore-drill");
const PASSWORD: &str = "scratch-drill-password-canary";
const NOBODY: u32 = 65534;

struct Bed {
    dir: tempfile::TempDir,
    data: PathBuf,
    garage: GarageServer,
    sshd: Sshd,
    repo: String,
}

impl Bed {
    /// A config whose one plan, `drill-ssh`, runs restic on the sshd host with this
    /// `scratch_dir` and restic binary.
    fn config(&self, name: &str, scratch_dir: &Path, restic_bin: &str) -> PathBuf {
        let d = self.dir.path();
        let matrix = write_matrix(d, &self.data);
        let pw = write(&d.join("repo.pw"), PASSWORD);
        let key = write(&d.join("access_key"), self.garage.access_key_id());
        let secret = write(
            &d.join("secret_key"),
            self.garage.secret_access_key().expose_secret(),
        );
        let token = write(
            &d.join("admin_token"),
            self.garage.admin_token().expose_secret(),
        );
        write(
            &d.join(name),
            &format!(
                r#"matrix = "{matrix}"
[garage]
s3_endpoint = "{s3}"
admin_endpoint = "{admin}"
region = "{region}"
access_key_id = {{ file = "{key}" }}
secret_access_key = {{ file = "{secret}" }}
admin_token = {{ file = "{token}" }}

[restic.drill-ssh]
repository = "{repo}"
password = {{ file = "{pw}" }}
ssh = {{ host = "127.0.0.1", port = {port}, user = "{user}", key_file = "{ssh_key}", known_hosts = "{kh}", restic_bin = "{restic_bin}", scratch_dir = "{scratch}" }}
"#,
                matrix = matrix.display(),
                s3 = self.garage.s3_endpoint(),
                admin = self.garage.admin_endpoint(),
                region = self.garage.region(),
                key = key.display(),
                secret = secret.display(),
                token = token.display(),
                repo = self.repo,
                pw = pw.display(),
                port = self.sshd.port(),
                user = self.sshd.user(),
                ssh_key = self.sshd.client_key_path().display(),
                kh = self.sshd.known_hosts_path().display(),
                scratch = scratch_dir.display(),
            ),
        )
    }

    fn drill(&self, config: &Path, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["--config", config.to_str().expect("utf-8"), "drill-ssh"];
        args.extend_from_slice(extra);
        let out = run(DRILL, &args);
        assert_no_secrets(
            &out,
            &[PASSWORD, self.garage.secret_access_key().expose_secret()],
        );
        out
    }
}

fn start() -> Bed {
    let garage = GarageServer::start_blocking()
        .expect("Garage starts (set GARAGE_BIN or run scripts/test.sh)");
    let sshd =
        Sshd::start_blocking().expect("sshd starts (openssh-server; scripts/test.sh installs it)");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    write(&data.join("etc/app.conf"), "listen = 8080\n");
    write(&data.join("notes.txt"), &"n".repeat(4450));
    let repo = format!("s3:{}/{}/scratch", garage.s3_endpoint(), garage.bucket());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let restic = Restic::builder()
                .with_repository(
                    Repository::new(repo.clone(), SecretString::from(PASSWORD))
                        .with_s3_credentials(
                            SecretString::from(garage.access_key_id().to_owned()),
                            garage.secret_access_key().clone(),
                            garage.region(),
                        ),
                )
                .build()
                .expect("restic client");
            restic.init().await.expect("restic init");
            let opts = BackupOptions::new([data.display().to_string()])
                .with_time("2026-11-26T04:00:00Z".parse().expect("timestamp"));
            restic
                .backup(&opts)
                .await
                .expect("backup starts")
                .finish()
                .await
                .expect("backup");
        });
    Bed {
        dir,
        data,
        garage,
        sshd,
        repo,
    }
}

/// A directory in /tmp with the given owner and mode (the test runs as root, as the bed does).
fn shared_dir(prefix: &str, uid: u32, mode: u32) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("tempdir in /tmp");
    std::os::unix::fs::chown(d.path(), Some(uid), Some(uid)).expect("chown (tests run as root)");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    d
}

fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read scratch dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
}

fn ssh_uid(bed: &Bed) -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", bed.sshd.user()])
        .output()
        .expect("id -u");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("uid")
}

#[test]
fn ssh_drill_uses_a_private_directory_and_removes_it() {
    let bed = start();
    // The scratch dir looks like /tmp: root's, world-writable, sticky.
    let scratch = shared_dir("drill-scratch-", 0, 0o1777);
    let s = scratch.path();
    let config = bed.config("config.toml", s, "restic");

    // (1) A local user pre-creates, as a foreign world-writable directory or as a symlink into
    // a directory of theirs: every name the drill used to pick
    // (`restore-drill-<plan>-<unix seconds>`), and names guessed in mktemp's pattern.
    let sink = s.join("attacker-sink");
    std::fs::create_dir(&sink).expect("sink");
    std::os::unix::fs::chown(&sink, Some(NOBODY), Some(NOBODY)).expect("chown sink");
    std::fs::set_permissions(&sink, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let now = jiff::Timestamp::now().as_second();
    let mut traps: Vec<PathBuf> = (now - 2..now + 120)
        .map(|t| s.join(format!("restore-drill-drill-ssh-{t}")))
        .collect();
    let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let mut seed = u64::try_from(now).unwrap_or(1);
    for _ in 0..60 {
        let suffix: String = (0..10)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                alphabet[usize::try_from(seed >> 33).unwrap_or(0) % alphabet.len()]
            })
            .collect();
        traps.push(s.join(format!("restore-drill-drill-ssh.{suffix}")));
    }
    for (i, t) in traps.iter().enumerate() {
        if i % 2 == 0 {
            std::fs::create_dir(t).expect("trap dir");
            std::os::unix::fs::chown(t, Some(NOBODY), Some(NOBODY)).expect("chown trap");
            std::fs::set_permissions(t, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        } else {
            std::os::unix::fs::symlink(&sink, t).expect("trap symlink");
        }
    }
    let before = entries(s);

    let out = bed.drill(&config, &["--json"]);
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["verified"], true, "{v:#}");
    assert_eq!(v["kept"], false, "{v:#}");
    let target = v["target"].as_str().expect("target").to_owned();
    let name = target
        .strip_prefix(&format!("{}/", s.display()))
        .unwrap_or_else(|| panic!("restored outside scratch_dir: {target}"));
    let suffix = name
        .strip_prefix("restore-drill-drill-ssh.")
        .unwrap_or_else(|| panic!("not a mktemp name: {target}"));
    assert_eq!(suffix.len(), 10, "{target}");
    assert!(
        !traps.iter().any(|t| t == Path::new(&target)),
        "restored into a pre-created name: {target}"
    );
    let filled: Vec<&PathBuf> = traps
        .iter()
        .filter(|t| t.is_dir() && !is_empty_dir(t))
        .collect();
    assert!(filled.is_empty(), "restored into a trap: {filled:?}");
    assert!(is_empty_dir(&sink), "restored through a symlink trap");
    // Nothing of the drill remains: the directory it made is gone, the traps are untouched.
    assert_eq!(
        entries(s),
        before,
        "the drill left something in scratch_dir\n{}",
        both(&out)
    );

    // (2) --keep leaves exactly one new directory: the SSH user's, mode 0700, with the restore.
    let out = bed.drill(&config, &["--json", "--keep"]);
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["kept"], true, "{v:#}");
    let new: Vec<String> = entries(s).difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "{new:?}\n{}", both(&out));
    let kept = s.join(&new[0]);
    assert_eq!(v["target"], kept.display().to_string());
    let meta = std::fs::symlink_metadata(&kept).expect("kept dir");
    assert!(meta.is_dir(), "{kept:?} is not a real directory");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o700);
    assert_eq!(meta.uid(), ssh_uid(&bed));
    let restored = kept.join(bed.data.strip_prefix("/").expect("absolute"));
    assert_eq!(
        std::fs::read_to_string(restored.join("etc/app.conf")).expect("restored file"),
        "listen = 8080\n"
    );
    std::fs::remove_dir_all(&kept).expect("remove kept");

    // A drill that fails after restoring (restic's restore exits 1 here) still removes it.
    let failing = write(
        &bed.dir.path().join("restic-failing-restore"),
        "#!/bin/sh\nrestic \"$@\"\nrc=$?\ncase \" $* \" in *\" restore \"*) echo 'injected failure after restore' >&2; exit 1 ;; esac\nexit $rc\n",
    );
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config_failing = bed.config("config-failing.toml", s, failing.to_str().expect("utf-8"));
    let out = bed.drill(&config_failing, &[]);
    assert_code(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("injected failure after restore"),
        "{}",
        both(&out)
    );
    assert_eq!(
        entries(s),
        before,
        "a failed drill left its directory behind\n{}",
        both(&out)
    );
}

#[test]
fn ssh_drill_refuses_a_scratch_dir_others_control() {
    let bed = start();
    let good = shared_dir("drill-good-", 0, 0o1777);
    let link = bed.dir.path().join("scratch-link");
    std::os::unix::fs::symlink(good.path(), &link).expect("symlink");
    let foreign = shared_dir("drill-foreign-", NOBODY, 0o777);
    let foreign_sticky = shared_dir("drill-foreign-sticky-", NOBODY, 0o1777);
    let open = shared_dir("drill-open-", 0, 0o777);
    // A component further up that someone else owns: they could rename it away and swap in
    // their own tree, even though the last component is fine.
    let parent = shared_dir("drill-parent-", NOBODY, 0o755);
    let below = parent.path().join("mine");
    std::fs::create_dir(&below).expect("below");
    std::fs::set_permissions(&below, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let cases: [(&str, &Path, &str); 5] = [
        ("symlink", &link, "symbolic link"),
        ("foreign", foreign.path(), "uid 65534"),
        ("foreign sticky", foreign_sticky.path(), "uid 65534"),
        ("world-writable, no sticky bit", open.path(), "sticky"),
        ("foreign parent", &below, "uid 65534"),
    ];
    for (i, (what, dir, why)) in cases.iter().enumerate() {
        let config = bed.config(&format!("config-{i}.toml"), dir, "restic");
        let before = entries(dir);
        let out = bed.drill(&config, &[]);
        assert_code(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("is refused") && err.contains(why),
            "{what}: {}",
            both(&out)
        );
        assert_eq!(entries(dir), before, "{what}: something was created");
        assert!(
            is_empty_dir(good.path()),
            "{what}: restored through the link"
        );
    }
    // The same tree without the faults is accepted.
    let config = bed.config("config-good.toml", good.path(), "restic");
    let out = bed.drill(&config, &[]);
    assert_code(&out, 0);
    assert!(is_empty_dir(good.path()), "{}", both(&out));
}
