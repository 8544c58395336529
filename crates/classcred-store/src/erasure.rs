//! Erasure: crypto-shredding of one member or a whole community, re-applied after a restore.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What an erasure did: table → rows erased or scrubbed (no personal data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts {
    pub tables: BTreeMap<String, u64>,
}

impl ErasureCounts {
    pub(crate) fn add(&mut self, table: &str, n: u64) {
        if n > 0 {
            *self.tables.entry(table.to_string()).or_default() += n;
        }
    }

    pub(crate) fn merge(&mut self, other: &ErasureCounts) {
        for (t, n) in &other.tables {
            self.add(t, *n);
        }
    }
}
