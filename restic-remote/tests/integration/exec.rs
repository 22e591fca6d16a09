//! `SshTransport::exec` over a real sshd: every argument arrives as one word, nothing is
//! interpreted by the remote shell, output is bounded, a hanging command is cut off.

use std::time::{Duration, Instant};

use restic_remote::testing::Sshd;
use restic_remote::{EXEC_OUTPUT_LIMIT, Error, Transport};

use super::common;

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_passes_hostile_arguments_intact_and_interprets_nothing() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let ssh = common::connect(&sshd).await;
    let marker = tempfile::tempdir().unwrap();
    let pwned = marker.path().join("pwned");
    let inject = format!("x; touch {}", pwned.display());
    let subst = format!("$(touch {})", pwned.display());
    let args = [
        "two words",
        "it's \"quoted\"",
        inject.as_str(),
        subst.as_str(),
        "`id` $HOME ${PATH} *",
        "back\\slash",
        "",
        "tab\there",
        "-n",
    ];
    let mut argv = vec!["printf", "[%s]\\n"];
    argv.extend(args);
    let out = ssh.exec(&argv, T).await.expect("exec runs");
    assert!(out.success(), "{out:?}");
    let want: String = args.iter().map(|a| format!("[{a}]\n")).collect();
    assert_eq!(out.stdout_text(), want);
    assert!(!pwned.exists(), "the remote shell ran an injected command");
    assert!(!out.truncated);

    // A NUL byte cannot be passed: refused before anything is sent.
    let err = ssh.exec(&["echo", "a\0b"], T).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let err = ssh.exec(&[], T).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_reports_status_stderr_bounds_output_and_times_out() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let ssh = common::connect(&sshd).await;

    // A non-zero exit is an output, not an error.
    let out = ssh
        .exec(&["sh", "-c", "echo oops >&2; exit 7"], T)
        .await
        .expect("exec runs");
    assert_eq!(out.status, Some(7));
    assert!(!out.success());
    assert_eq!(out.stderr_text(), "oops\n");

    // Standard input is closed: `cat` ends at once with nothing.
    let out = ssh.exec(&["cat"], T).await.expect("cat ends");
    assert!(out.success() && out.stdout.is_empty(), "{out:?}");

    // Output beyond the limit is read (the command finishes) but not kept.
    let out = ssh
        .exec(&["head", "-c", "300000", "/dev/zero"], T)
        .await
        .expect("head runs");
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout.len(), EXEC_OUTPUT_LIMIT);
    assert!(out.truncated);

    // A command that outlives its timeout: the call returns, with a typed error.
    let started = Instant::now();
    let err = ssh
        .exec(&["sleep", "30"], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{err:?}");
    match &err {
        Error::Exec { program, reason } => {
            assert_eq!(program, "sleep");
            assert!(reason.contains("1s"), "{reason}");
        }
        e => panic!("expected Error::Exec, got {e:?}"),
    }
    // The connection is still usable afterwards.
    let out = ssh.exec(&["true"], T).await.expect("exec after timeout");
    assert!(out.success());

    // The restic client's transport hands out its SSH connection; a local one has none.
    assert!(Transport::from(ssh.clone()).as_ssh().is_some());
    assert!(Transport::local().as_ssh().is_none());
}
