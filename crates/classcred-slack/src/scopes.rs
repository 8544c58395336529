//! The bot scopes ClassCred asks for. Each is declared, with its purpose, in the privacy
//! registry (`classcred_store::registry::PLATFORM_PERMISSIONS`); `slack/manifest.yml` may list
//! only those (a test checks it).

use classcred_store::registry::{permissions, PlatformPermission};

/// Every bot scope we request, with the reason we need it, from the privacy registry.
pub fn scope_purposes() -> impl Iterator<Item = &'static PlatformPermission> {
    permissions("slack")
}

/// The bot events we subscribe to and the scope each needs (`None`: no scope needed).
pub const EVENT_SCOPES: &[(&str, Option<&str>)] = &[
    ("message.channels", Some("channels:history")),
    ("message.groups", Some("groups:history")),
    ("reaction_added", Some("reactions:read")),
    ("reaction_removed", Some("reactions:read")),
    ("team_join", Some("users:read")),
    ("user_change", Some("users:read")),
    ("member_joined_channel", Some("channels:read")),
    ("app_home_opened", None),
    ("app_uninstalled", None),
    ("tokens_revoked", None),
];

/// The purpose of a scope, if we request it.
pub fn purpose_of(scope: &str) -> Option<&'static str> {
    scope_purposes()
        .find(|p| p.scope == scope)
        .map(|p| p.purpose)
}

/// All requested bot scopes, in order (for the authorize URL).
pub fn bot_scopes() -> Vec<&'static str> {
    scope_purposes().map(|p| p.scope).collect()
}
