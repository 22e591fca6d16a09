//! Integration tests against the fake PBS (real TLS on 127.0.0.1).

mod integration {
    mod auth;
    mod common;
    mod download;
    mod endpoints;
    mod errors;
    mod ports;
    mod proxmoxer;
    mod secrets;
    mod tasks;
    mod tls;
}
