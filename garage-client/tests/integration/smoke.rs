//! The test bed itself: Garage starts, is healthy, refuses anonymous S3, survives kill/restart.

use garage_client::testing::GarageServer;

#[tokio::test]
async fn health_is_200_and_anonymous_s3_is_403() {
    let garage = GarageServer::start().await.expect("garage starts");
    let http = reqwest::Client::new();

    let health = http
        .get(format!("{}/health", garage.admin_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let text = health.text().await.unwrap();
    assert!(text.contains("operational"), "{text}");

    let anon = http
        .get(format!("{}/{}/", garage.s3_endpoint(), garage.bucket()))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 403);
    let body = anon.text().await.unwrap();
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");

    assert_eq!(garage.region(), "garage");
    assert!(
        garage.access_key_id().starts_with("GK"),
        "{}",
        garage.access_key_id()
    );
}

#[tokio::test]
async fn kill_then_restart_keeps_ports_and_data() {
    let mut garage = GarageServer::start().await.expect("garage starts");
    let http = reqwest::Client::new();
    let endpoint = garage.admin_endpoint();
    garage.kill();
    assert!(!garage.is_running());
    assert!(http.get(format!("{endpoint}/health")).send().await.is_err());
    garage.restart().expect("garage restarts");
    assert!(garage.is_running());
    let health = http.get(format!("{endpoint}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let dir = garage.dir().to_path_buf();
    drop(garage);
    assert!(!dir.exists(), "temp dir removed on drop");
}

#[test]
fn several_servers_run_at_once() {
    let a = GarageServer::start_blocking().expect("first garage");
    let b = GarageServer::start_blocking().expect("second garage");
    assert_ne!(a.s3_endpoint(), b.s3_endpoint());
    assert_ne!(a.access_key_id(), b.access_key_id());
}
