//! Velero's CustomResourceDefinitions as the fake apiserver has them installed: names, scope,
//! printer columns and the v1 `openAPIV3Schema` of every vmware-tanzu/velero
//! config/crd/v1/bases/velero.io_*.yaml (commit d30d389b), descriptions dropped. The data file
//! `crds/velero_v1.json` is regenerated from a Velero checkout by
//! scripts/fidelity/velero_crd_schemas.py.

use std::sync::OnceLock;

use serde_json::Value;

const DATA: &str = include_str!("crds/velero_v1.json");

/// One installed CRD (its `v1` version).
pub(crate) struct Crd {
    pub(crate) kind: String,
    pub(crate) plural: String,
    pub(crate) singular: String,
    pub(crate) short_names: Vec<String>,
    pub(crate) namespaced: bool,
    /// `spec.versions[v1].additionalPrinterColumns`.
    pub(crate) printer_columns: Vec<Value>,
    /// `spec.versions[v1].schema.openAPIV3Schema`.
    pub(crate) schema: Value,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// All of Velero's CRDs, in plural order.
pub(crate) fn all() -> &'static [Crd] {
    static CRDS: OnceLock<Vec<Crd>> = OnceLock::new();
    CRDS.get_or_init(|| {
        // The data file is part of this crate and checked by its tests: a parse failure is a
        // build defect, not server data.
        let raw: Vec<Value> = serde_json::from_str(DATA).unwrap_or_default();
        raw.into_iter()
            .map(|c| {
                let text = |k: &str| c["names"][k].as_str().unwrap_or_default().to_owned();
                Crd {
                    kind: text("kind"),
                    plural: text("plural"),
                    singular: text("singular"),
                    short_names: strings(&c["names"]["shortNames"]),
                    namespaced: c["scope"] == "Namespaced",
                    printer_columns: c["additionalPrinterColumns"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                    schema: c["openAPIV3Schema"].clone(),
                }
            })
            .collect()
    })
}

/// The CRD of `kind`.
pub(crate) fn by_kind(kind: &str) -> Option<&'static Crd> {
    all().iter().find(|c| c.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_velero_crd_is_installed() {
        let kinds: Vec<&str> = all().iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds.len(), 11, "{kinds:?}");
        for c in all() {
            assert_eq!(
                super::super::store::kind_of(&c.plural),
                Some(c.kind.as_str())
            );
            assert!(c.namespaced, "{}", c.kind);
            assert_eq!(c.schema["type"], "object", "{}", c.kind);
            assert!(c.schema["properties"]["spec"].is_object(), "{}", c.kind);
        }
        let bsl = by_kind("BackupStorageLocation").unwrap();
        assert_eq!(bsl.short_names, ["bsl"]);
        assert_eq!(bsl.singular, "backupstoragelocation");
        assert_eq!(by_kind("Schedule").unwrap().printer_columns.len(), 5);
    }
}
