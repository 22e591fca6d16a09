//! Integration tests against a real Garage 2.5 started by the tests (`testing::GarageServer`).

mod integration {
    mod admin;
    mod admin_ops;
    mod common;
    mod s3;
    mod smoke;
    mod uploads;
}
