use velero_client::testing::NamespaceSim;
use velero_client::{BackupSpec, Clusters, Error, ListOptions, VeleroClient};

use crate::{install_crypto, wait_available};

#[tokio::test]
async fn three_contexts_are_three_separate_clusters() {
    install_crypto();
    let fake = velero_client::testing::FakeVelero::start().await.unwrap();
    let clusters = Clusters::from_kubeconfig(fake.kubeconfig_path(), &["prod", "agentic", "monit"])
        .await
        .unwrap();
    assert_eq!(
        clusters.contexts().collect::<Vec<_>>(),
        vec!["agentic", "monit", "prod"]
    );
    for c in clusters.iter() {
        assert_eq!(c.namespace(), "velero");
        wait_available(c, "default").await;
    }
    let locs = clusters
        .get("monit")
        .unwrap()
        .storage_locations()
        .await
        .unwrap();
    assert_eq!(locs.len(), 1);
    assert_eq!(locs[0].bucket, "velero-monit");

    fake.cluster("prod")
        .unwrap()
        .set_namespace("apps", NamespaceSim::with_items(3));
    let prod = clusters.get("prod").unwrap();
    prod.create_backup("only-in-prod", BackupSpec::default())
        .await
        .unwrap();
    assert_eq!(
        prod.list_backups(&ListOptions::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let agentic = clusters.get("agentic").unwrap();
    assert!(
        agentic
            .list_backups(&ListOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        agentic
            .get_backup("only-in-prod")
            .await
            .unwrap_err()
            .is_not_found()
    );

    let counts = clusters
        .each(|c| async move {
            c.list_backups(&ListOptions::default())
                .await
                .map(|b| b.len())
        })
        .await;
    assert_eq!(counts["prod"].as_ref().unwrap(), &1);
    assert_eq!(counts["monit"].as_ref().unwrap(), &0);
    assert!(matches!(
        clusters.get("staging"),
        Err(Error::NoSuchCluster(_))
    ));
}

#[tokio::test]
async fn unknown_context_is_reported_with_the_available_ones() {
    install_crypto();
    let fake = velero_client::testing::FakeVelero::start_contexts(&["prod", "monit"])
        .await
        .unwrap();
    let err = VeleroClient::builder()
        .with_kubeconfig_path(fake.kubeconfig_path())
        .with_context("agentic")
        .build()
        .await
        .unwrap_err();
    match err {
        Error::UnknownContext { context, available } => {
            assert_eq!(context, "agentic");
            assert_eq!(available, vec!["monit".to_owned(), "prod".to_owned()]);
        }
        other => panic!("unexpected {other:?}"),
    }
    // Without a context, the kubeconfig's current context (the first) is used.
    let c = VeleroClient::builder()
        .with_kubeconfig_path(fake.kubeconfig_path())
        .build()
        .await
        .unwrap();
    assert_eq!(c.context(), "monit");
}

#[tokio::test]
async fn wraps_an_existing_kube_client() {
    install_crypto();
    let fake = velero_client::testing::FakeVelero::start().await.unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(fake.kubeconfig_path()).unwrap();
    let options = kube::config::KubeConfigOptions {
        context: Some("agentic".into()),
        cluster: None,
        user: None,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    let kube_client = kube::Client::try_from(config).unwrap();
    let client = VeleroClient::from_kube(kube_client, "agentic", "velero").unwrap();
    wait_available(&client, "default").await;
    let locs = client.storage_locations().await.unwrap();
    assert_eq!(locs[0].bucket, "velero-agentic");
    assert!(locs[0].is_available() && locs[0].default);

    // A client for a namespace where Velero is not installed sees nothing.
    let other = VeleroClient::builder()
        .with_kubeconfig_path(fake.kubeconfig_path())
        .with_context("agentic")
        .with_namespace("velero-test")
        .build()
        .await
        .unwrap();
    assert!(other.storage_locations().await.unwrap().is_empty());
}
