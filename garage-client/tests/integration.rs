//! Integration tests against a real Garage 2.5 started by the tests (`testing::GarageServer`).

mod integration {
    mod admin;
    mod common;
    mod faults;
    mod keys;
    mod misc;
    mod s3;
    mod sizes;
    mod smoke;
    mod streams;
}
