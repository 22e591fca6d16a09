//! Integration tests against a real OpenSSH sshd, real restic and a real Garage repository.

mod integration {
    pub mod sshd_smoke;
}
