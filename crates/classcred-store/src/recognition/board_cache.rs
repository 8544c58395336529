//! Leaderboard totals kept in memory per process (issue 13: leaderboards at p99 <= 2 ms).
//!
//! An entry is the list [`crate::CommunityTx::student_points`] returned for one community and one
//! period (course, or a week or month key in a timezone), with the community's
//! `points_period_zone.points_version` read *before* the rows, in the same transaction.
//! Every write that can change a board changes that version in its own transaction (ledger
//! inserts and period rebuilds in `aggregates.rs`; member inserts, deletes and role or kind
//! changes by the triggers of migration 0027), so an entry whose version still equals the
//! database's is what the rows read now would return — whichever process wrote. Reading the
//! version first means a write committed between the two reads leaves an entry newer than its
//! version (a later miss), never older.
//!
//! Bounded: at most [`BOARD_CACHE_ENTRIES`] entries per process, least recently used evicted.
//! An entry holds one `(member id, points)` per student: ~80 bytes each, so ~80 KB for a
//! 1,000-student class and ~5 MB at the cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::MemberRowId;

/// Most boards kept per process (all communities and periods together).
pub const BOARD_CACHE_ENTRIES: usize = 64;

type Key = (String, String);

struct Entry {
    version: i64,
    rows: Arc<Vec<(MemberRowId, i64)>>,
    used: u64,
}

/// See the module documentation.
#[derive(Default)]
pub struct BoardCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<Key, Entry>,
    tick: u64,
}

impl BoardCache {
    /// The rows kept for `(community, period)` at `version`, if any.
    pub(crate) fn get(
        &self,
        community: &str,
        period: &str,
        version: i64,
    ) -> Option<Arc<Vec<(MemberRowId, i64)>>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let key = (community.to_string(), period.to_string());
        match inner.entries.get_mut(&key) {
            Some(e) if e.version == version => {
                e.used = tick;
                Some(e.rows.clone())
            }
            _ => None,
        }
    }

    /// Keep `rows` for `(community, period)`, read at `version`.
    pub(crate) fn put(
        &self,
        community: &str,
        period: &str,
        version: i64,
        rows: Arc<Vec<(MemberRowId, i64)>>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let key = (community.to_string(), period.to_string());
        if !inner.entries.contains_key(&key) && inner.entries.len() >= BOARD_CACHE_ENTRIES {
            if let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(
            key,
            Entry {
                version,
                rows,
                used: tick,
            },
        );
    }

    /// How many boards are kept (for tests).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    /// Whether no board is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
