//! Integration tests against the fake kube-apiserver.
