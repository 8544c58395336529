//! The bot scopes ClassCred asks for and why. `slack/manifest.yml` may list only these (a test
//! checks it), and the privacy registry links each purpose to the data it allows us to read.

/// Every bot scope we request, with the reason we need it.
pub const SCOPE_PURPOSES: &[(&str, &str)] = &[
    (
        "channels:history",
        "Receive messages in public class channels the app was added to, to detect fire and questions (message.channels).",
    ),
    (
        "groups:history",
        "Receive messages in private class channels the app was added to, to detect fire and questions (message.groups).",
    ),
    (
        "channels:read",
        "Know when a member joins a public class channel (member_joined_channel).",
    ),
    (
        "groups:read",
        "Know when a member joins a private class channel (member_joined_channel).",
    ),
    (
        "reactions:read",
        "Receive fire reactions added or removed on messages (reaction_added, reaction_removed).",
    ),
    (
        "reactions:write",
        "Confirm a give with a reaction on the giver's message when the community chose that confirmation style (confirm = reaction).",
    ),
    (
        "users:read",
        "Create members on install and on team_join, and keep name, display name, avatar, timezone and bot flag current (users.list, users.info, user_change).",
    ),
    (
        "users:read.email",
        "Read members' email addresses so instructors can match them to the gradebook export.",
    ),
    (
        "chat:write",
        "Send private notices (quota left, course dates, refused fire) and post announcements, polls and assignments.",
    ),
    ("commands", "Provide the /cred slash command."),
];

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
    SCOPE_PURPOSES
        .iter()
        .find(|(s, _)| *s == scope)
        .map(|(_, p)| *p)
}

/// All requested bot scopes, in order (for the authorize URL).
pub fn bot_scopes() -> Vec<&'static str> {
    SCOPE_PURPOSES.iter().map(|(s, _)| *s).collect()
}
