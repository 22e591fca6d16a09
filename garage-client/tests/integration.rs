//! Integration tests against a real Garage 2.5 started by the tests (`testing::GarageServer`).

mod integration {
    mod admin;
    mod common;
    mod s3;
    mod smoke;
}
