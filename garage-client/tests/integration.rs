//! Integration tests against a real Garage 2.5 started by the tests (`testing::GarageServer`).

mod integration {
    mod admin;
    mod admin_ops;
    mod common;
    mod faults;
    mod keys;
    mod misc;
    mod s3;
    mod sizes;
    mod smoke;
    mod streams;
    mod uploads;
}
