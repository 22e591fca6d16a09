//! Integration tests against a real OpenSSH sshd, real restic (Debian's 0.14 here) and a real
//! Garage S3 repository, all started by the tests on 127.0.0.1.

mod integration {
    pub mod common;

    pub mod cancel;
    pub mod exec;
    pub mod flow;
    pub mod handles;
    pub mod paths;
    pub mod security;
    pub mod sshd_smoke;
}
