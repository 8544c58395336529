//! Matrix behind the platform seam: rendering the seam's [`Doc`] as Matrix HTML, answering
//! `!cred` commands (job [`COMMAND_JOB`]), delivering notices ([`NoticeSink`]) and the member
//! directory ([`MemberDirectory`]).
//!
//! ## Where answers and notices go
//! Matrix has no message only one member sees (Slack's ephemeral messages). So:
//! - answers that are nobody else's business (`me`, `dashboard` with its sign-in link,
//!   `privacy`) go to a **direct room** of the bot with the member, and the room gets a short
//!   `m.notice` saying so; `top` and `help` are answered in the room itself (the leaderboard is
//!   shown to the class anyway);
//! - notices (quota exceeded, self fire, level up, badge…) go to the member's direct room; a
//!   "fire given" confirmation is a ✅ reaction of the bot on the giver's message instead, so
//!   neither the room nor the direct room fills up with confirmations.
//!
//! The direct room is created by the bot on first use (`createRoom` with `is_direct`, the member
//! invited) and remembered where Matrix clients remember theirs: the bot's `m.direct` account
//! data on the homeserver. ClassCred stores no room of its own for it (no table, nothing to
//! erase); a member who leaves their direct room simply no longer sees notices.

use std::sync::Arc;

use classcred_platform::commands::Command;
use classcred_platform::{
    run_command, Adapter, CommandContext, Doc, LoginLinks, MemberDirectory, NoticeSink,
    OutgoingNotice, Platform, Posted, Span,
};
use classcred_service::Resolved;
use classcred_store::jobs::ClaimedJob;
use classcred_store::{Community, Store};
use serde_json::{json, Value};

use crate::client::{Homeserver, HsError};
use crate::config::MatrixConfig;
use crate::convert::COMMAND_PREFIX;
use crate::http::COMMAND_JOB;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn span_html(s: &Span, out: &mut String) {
    match s {
        Span::Text(t) => out.push_str(&escape(t)),
        Span::Strong(t) => {
            out.push_str("<strong>");
            out.push_str(&escape(t));
            out.push_str("</strong>");
        }
        Span::Code(t) => {
            out.push_str("<code>");
            out.push_str(&escape(t));
            out.push_str("</code>");
        }
        Span::Link { url, label } => {
            // Only web links become links; anything else stays text.
            if url.starts_with("https://") || url.starts_with("http://") {
                out.push_str("<a href=\"");
                out.push_str(&escape(url));
                out.push_str("\">");
                out.push_str(&escape(label));
                out.push_str("</a>");
            } else {
                out.push_str(&escape(label));
            }
        }
        Span::Fire => out.push('🔥'),
    }
}

/// The Matrix HTML of a [`Doc`] (`org.matrix.custom.html`): bullet lines as `<ul>` lists,
/// other lines separated by `<br>`.
pub fn html(doc: &Doc) -> String {
    let mut out = String::new();
    let mut in_list = false;
    for (i, line) in doc.lines.iter().enumerate() {
        if line.bullet {
            if !in_list {
                out.push_str("<ul>");
                in_list = true;
            }
            out.push_str("<li>");
        } else {
            if in_list {
                out.push_str("</ul>");
                in_list = false;
            } else if i > 0 {
                out.push_str("<br>");
            }
        }
        for s in &line.spans {
            span_html(s, &mut out);
        }
        if line.bullet {
            out.push_str("</li>");
        }
    }
    if in_list {
        out.push_str("</ul>");
    }
    out
}

/// An `m.notice` with the plain `body` and the HTML `formatted_body`, pinging nobody, as a reply
/// to `reply_to` when given.
pub fn notice_content(doc: &Doc, reply_to: Option<&str>) -> Value {
    let mut c = json!({
        "msgtype": "m.notice",
        "body": doc.plain(),
        "format": "org.matrix.custom.html",
        "formatted_body": html(doc),
        "m.mentions": {},
    });
    if let Some(ev) = reply_to {
        c["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": ev } });
    }
    c
}

/// Whether a command's answer is private (sent to the member's direct room).
pub fn is_private(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Me
            | Command::Dashboard
            | Command::Privacy(_)
            | Command::Questions
            | Command::Accept(_)
    )
}

/// The Matrix side of the seam. Cheap to clone.
#[derive(Clone)]
pub struct MatrixAdapter {
    pub homeserver: Homeserver,
    pub config: Arc<MatrixConfig>,
    /// One direct room is created at a time (per process), so that two notices to a new member
    /// do not create two rooms.
    dm_lock: Arc<tokio::sync::Mutex<()>>,
}

impl MatrixAdapter {
    pub fn new(homeserver: Homeserver, config: Arc<MatrixConfig>) -> Self {
        Self {
            homeserver,
            config,
            dm_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The seam's adapter record.
    pub fn adapter(&self) -> Adapter {
        Adapter {
            platform: Platform::Matrix,
            notices: Arc::new(self.clone()),
            members: Arc::new(self.clone()),
        }
    }

    /// The bot's direct room with `user_id` (from `m.direct`), created and recorded there when
    /// there is none.
    pub async fn direct_room(&self, user_id: &str) -> Result<String, HsError> {
        let _one_at_a_time = self.dm_lock.lock().await;
        let mut map = self.homeserver.direct_rooms().await?;
        let known = map
            .get(user_id)
            .and_then(Value::as_array)
            .and_then(|rooms| rooms.iter().find_map(Value::as_str))
            .map(str::to_owned);
        if let Some(room) = known {
            return Ok(room);
        }
        let room = self.homeserver.create_direct_room(user_id).await?;
        map.insert(user_id.to_owned(), json!([room]));
        self.homeserver.set_direct_rooms(&map).await?;
        Ok(room)
    }

    /// Handler of [`COMMAND_JOB`]: answers a `!cred` command (see the module docs for where).
    /// The homeserver's transaction ids are derived from the command's event id, so a retried
    /// job does not post twice.
    pub async fn command_job(
        &self,
        store: &Store,
        login: Option<&LoginLinks>,
        job: &ClaimedJob,
    ) -> anyhow::Result<()> {
        let community_id = job.payload_community_id()?;
        let field = |k: &str| {
            job.payload
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("{COMMAND_JOB} job {} without {k}", job.id))
        };
        let (room, event_id, sender, args) = (
            field("room_id")?,
            field("event_id")?,
            field("sender")?,
            field("args")?,
        );
        // Sealed by `enqueue_command`; a job sealed under another master key (a rotation in
        // between) is answered with help, never guessed at.
        let args = store
            .open_job_text(COMMAND_JOB, &event_id, &args)
            .unwrap_or_else(|| {
                tracing::warn!(job_id = %job.id, "command text could not be opened; answering with help");
                String::new()
            });
        let mut tx = store.begin().await?;
        let community = tx.community(&community_id).await?;
        tx.commit().await?;
        let ctx = CommandContext {
            store,
            login,
            community: &community,
            platform_user_id: &sender,
            prefix: COMMAND_PREFIX,
            channel: Some(&room),
        };
        let doc = run_command(&ctx, &args).await;
        let private = is_private(&Command::parse(&args));
        let result = if private {
            async {
                let dm = self.direct_room(&sender).await?;
                self.homeserver
                    .send_event(
                        &dm,
                        "m.room.message",
                        &format!("cmd-dm.{event_id}"),
                        &notice_content(&doc, None),
                    )
                    .await?;
                let pointer = Doc::text("I sent you the answer in a direct message.");
                self.homeserver
                    .send_event(
                        &room,
                        "m.room.message",
                        &format!("cmd.{event_id}"),
                        &notice_content(&pointer, Some(&event_id)),
                    )
                    .await
            }
            .await
        } else {
            self.homeserver
                .send_event(
                    &room,
                    "m.room.message",
                    &format!("cmd.{event_id}"),
                    &notice_content(&doc, Some(&event_id)),
                )
                .await
        };
        match result {
            Ok(_) => {
                tracing::debug!(community_id = %community_id, job_id = %job.id, private, "Matrix command answered");
                Ok(())
            }
            Err(e) if e.is_permanent() => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, error = %e, "Matrix command not answered");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait::async_trait]
impl NoticeSink for MatrixAdapter {
    async fn send(&self, _store: &Store, n: &OutgoingNotice) -> anyhow::Result<()> {
        let txn = format!("notice.{}", n.job_id);
        let fire_given = matches!(
            n.notice.kind,
            classcred_engine::NoticeKind::FireGiven { .. }
        );
        let result = match (&n.source, fire_given) {
            (Some(src), true) => match &src.channel {
                Some(room) => self
                    .homeserver
                    .send_event(
                        room,
                        "m.reaction",
                        &txn,
                        &json!({"m.relates_to": {
                            "rel_type": "m.annotation",
                            "event_id": src.message_id,
                            "key": "✅",
                        }}),
                    )
                    .await
                    .map(|_| ()),
                None => Ok(()),
            },
            // A give without its message has nothing to confirm.
            (None, true) => Ok(()),
            (_, false) => match self.direct_room(&n.platform_user_id).await {
                Ok(dm) => self
                    .homeserver
                    .send_event(&dm, "m.room.message", &txn, &notice_content(&n.doc, None))
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.is_permanent() => {
                tracing::warn!(community_id = %n.community.id, job_id = %n.job_id, error = %e, "Matrix notice refused by the homeserver");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// An `m.text` in the room, with `key` as the transaction id (a retried post is the same
    /// event).
    async fn post(
        &self,
        _store: &Store,
        _community: &Community,
        channel: &str,
        key: &str,
        doc: &Doc,
    ) -> anyhow::Result<Posted> {
        let mut content = notice_content(doc, None);
        content["msgtype"] = json!("m.text");
        match self
            .homeserver
            .send_event(channel, "m.room.message", key, &content)
            .await
        {
            Ok(id) => Ok(Posted::Sent(Some(id))),
            Err(e) if e.is_permanent() => Ok(Posted::Refused(format!("Matrix: {e}"))),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait::async_trait]
impl MemberDirectory for MatrixAdapter {
    async fn sync_members(&self, store: &Store, community: &Community) -> anyhow::Result<usize> {
        crate::members::sync_members(store, &self.homeserver, &self.config, community).await
    }

    async fn resolve(
        &self,
        _store: &Store,
        community: &Community,
        platform_user_ids: &[String],
    ) -> anyhow::Result<Vec<(String, Resolved)>> {
        crate::members::resolve(&self.homeserver, &self.config, community, platform_user_ids).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use classcred_platform::Line;

    #[test]
    fn docs_render_as_matrix_html_and_plain_text() {
        let mut d = Doc::default();
        d.push(Line::new().strong("Top <this> week"));
        d.push(Line::bullet().text("1. Ana & Bo ").fire());
        d.push(Line::bullet().code("!cred me").text(" — you"));
        d.push(Line::new().link("https://c.example/l?a=1&b=\"2\"", "Open"));
        d.push(Line::new().link("javascript:alert(1)", "bad"));
        assert_eq!(
            html(&d),
            "<strong>Top &lt;this&gt; week</strong><ul><li>1. Ana &amp; Bo 🔥</li><li><code>!cred me</code> — you</li></ul><a href=\"https://c.example/l?a=1&amp;b=&quot;2&quot;\">Open</a><br>bad"
        );
        let c = notice_content(&d, Some("$ev"));
        assert_eq!(c["msgtype"], "m.notice");
        assert_eq!(c["format"], "org.matrix.custom.html");
        assert_eq!(c["body"], d.plain());
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$ev");
        assert_eq!(c["m.mentions"], json!({}));
    }

    #[test]
    fn private_answers() {
        for (args, private) in [
            ("me", true),
            ("dashboard", true),
            ("privacy export", true),
            ("top week", false),
            ("help", false),
            ("", false),
        ] {
            assert_eq!(is_private(&Command::parse(args)), private, "{args}");
        }
    }
}
