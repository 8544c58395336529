//! The dashboard in real headless Chromium (Debian's package, driven by playwright-core from
//! `tests/browser/`): the application runs in-process on port 0 over the demo class, on SQLite
//! and on PostgreSQL, and each node script in `tests/browser/` plays one part of the story with
//! fresh login links. Between scripts this side acts on the store and checks what the browser
//! did: one audit entry per profile read, nothing saved from a refused form, a later give
//! obeying the quota set in the browser.

mod class;
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use classcred_store::testing::TestDb;

use class::Class;
use harness::{Site, Tools};

/// While working on a page: `CLASSCRED_BROWSER_ONLY=signin,pages` runs only the scripts whose
/// names contain one of the words (the others are reported as not run).
const ONLY_ENV: &str = "CLASSCRED_BROWSER_ONLY";

/// The page checks fail pages with the faults they look for (no server needed).
#[test]
fn page_checks_catch_the_faults_they_look_for() {
    let Some(tools) = Tools::find() else {
        return;
    };
    tools.run("selfcheck.mjs", &[]);
}

/// The whole story in Chromium, on each backend.
#[test]
fn dashboard_in_chromium_on_every_backend() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    );
    let mut timings = Vec::new();
    let mut failed = Vec::new();
    for db in rt.block_on(TestDb::all()) {
        let started = Instant::now();
        failed.extend(
            story(&tools, &rt, &db)
                .into_iter()
                .map(|why| format!("{}: {why}", db.backend())),
        );
        timings.push(format!(
            "{}: {:.1} s",
            db.backend(),
            started.elapsed().as_secs_f64()
        ));
    }
    println!("browser tests took {}", timings.join(", "));
    assert!(
        failed.is_empty(),
        "browser scripts failed:\n{}",
        failed.join("\n")
    );
}

/// One backend's run; returns the node scripts that failed. A failed script does not stop the
/// story (so that one run shows every failure): the checks of this side that depend on it are
/// left out, and the test fails at the end with the list.
fn story(tools: &Tools, rt: &Arc<tokio::runtime::Runtime>, db: &TestDb) -> Vec<String> {
    println!("===== browser story on {}", db.backend());
    let store = rt.block_on(db.store());
    let class = rt.block_on(Class::demo(&store));
    let site = Site::start(rt.clone(), store.clone());
    let base = site.base_url();
    let facts = |links: &[&str]| class.facts(&base, links);
    let mut failed = Vec::new();
    let only = std::env::var(ONLY_ENV).ok();
    let mut run = |spec: &str, vars: &[(&str, String)]| {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|o| spec.contains(o)))
        {
            println!(
                "== node {spec}: NOT RUN ({ONLY_ENV}={})",
                only.as_deref().unwrap_or("")
            );
            return false;
        }
        match tools.try_run(spec, vars) {
            Ok(()) => true,
            Err(why) => {
                failed.push(why);
                false
            }
        }
    };

    run("signin.mjs", &facts(&["ADMIN", "ADMIN_SPARE"]));
    run("student.mjs", &facts(&["STUDENT"]));
    run("charts.mjs", &facts(&["ADMIN"]));
    run("exports.mjs", &facts(&["INSTRUCTOR"]));

    // Opening a profile as Instructor writes exactly one audit entry: who read whose data.
    let before = rt.block_on(class.audit_entries(&store));
    if run("profile.mjs", &facts(&["INSTRUCTOR"])) {
        let after = rt.block_on(class.audit_entries(&store));
        let last_seen = before.last().map_or(0, |e| e.seq);
        let new: Vec<_> = after.iter().filter(|e| e.seq > last_seen).collect();
        let subject = format!("member:{}", class.student.id);
        let reads: Vec<_> = new
            .iter()
            .filter(|e| e.subject.as_deref() == Some(subject.as_str()))
            .collect();
        assert_eq!(
            reads.len(),
            1,
            "one audit entry for one profile read; new entries: {new:#?}"
        );
        assert!(
            reads[0].actor.contains(class.instructor.id.as_str()),
            "the entry names the Instructor as the reader: {:?}",
            reads[0]
        );
    }

    // A refused form saves nothing: settings, inbox, ledger and audit log are as before.
    let before = rt.block_on(class.snapshot(&store));
    let mut vars = facts(&["ADMIN"]);
    vars.push(("QUOTA", before.daily_quota.to_string()));
    run("rewards-bad-input.mjs", &vars);
    assert_eq!(
        rt.block_on(class.snapshot(&store)),
        before,
        "nothing saved from a refused form"
    );

    // The quota set in the browser is obeyed by a later give.
    let new_quota = 2;
    assert!(
        before.daily_quota > new_quota,
        "the demo's quota ({}) is above {new_quota}",
        before.daily_quota
    );
    let mut vars = facts(&["ADMIN"]);
    vars.push(("NEW_QUOTA", new_quota.to_string()));
    if run("rewards-quota.mjs", &vars) {
        rt.block_on(class.wait_for_quota(&store, new_quota, Duration::from_secs(30)));
        rt.block_on(class.give_obeys_quota(&store, new_quota, before.daily_quota));
    }

    run("pages.mjs", &facts(&["ADMIN", "ADMIN_SPARE", "STUDENT"]));

    // The store: the Instructor adds an item in the browser, the student buys it (as from
    // chat, through the same service call), the Instructor approves it in the browser, and the
    // balance shows the debit (spendable down by the price, earned unchanged).
    let item = "Browser test pass";
    let store_vars = |step: &str| {
        let mut v = facts(&["INSTRUCTOR"]);
        v.push(("STEP", step.to_string()));
        v.push(("ITEM_NAME", item.to_string()));
        v
    };
    if run("store.mjs", &store_vars("create")) {
        let points = |store: &classcred_store::Store| {
            let (store, c, m) = (
                store.clone(),
                class.community.clone(),
                class.student.id.clone(),
            );
            async move {
                let mut tx = store.begin().await.unwrap();
                let p = tx.for_community(&c).member_points(&m).await.unwrap();
                tx.rollback().await.unwrap();
                (p.earned_milli, p.spendable_milli)
            }
        };
        let before = rt.block_on(points(&store));
        let bought = rt
            .block_on(classcred_service::store::buy(
                &store,
                &class.community,
                &class.student.id,
                item,
                chrono::Utc::now(),
            ))
            .unwrap();
        assert_eq!(
            bought.status,
            Some(classcred_engine::PurchaseStatus::Pending),
            "{bought:?}"
        );
        if run("store.mjs", &store_vars("approve")) {
            let after = rt.block_on(points(&store));
            assert_eq!(after, (before.0, before.1 - 1000), "the debit shows");
        }
    }
    site.shut_down();
    failed
}

/// Polls (`tests/browser/polls.mjs`), on each backend: the demo class is a Slack workspace
/// here (a signing secret configured, the community's platform set to Slack); an Instructor
/// creates a poll in the browser, the student's signed `block_actions` click votes, the
/// Instructor closes it and sees the result; this side checks the stored vote.
#[test]
fn polls_in_chromium_with_a_slack_vote_on_every_backend() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    );
    let secret = "polls-browser-signing-secret-0123456789";
    let team = "T0POLLS01";
    for db in rt.block_on(TestDb::all()) {
        let store = rt.block_on(db.store());
        let class = rt.block_on(Class::demo(&store));
        rt.block_on(
            sqlx::query(
                "UPDATE community SET platform = 'slack', platform_team_id = $1 WHERE id = $2",
            )
            .bind(team)
            .bind(&class.community)
            .execute(store.pool()),
        )
        .unwrap();
        let site = Site::start_with(rt.clone(), store.clone(), |cfg| {
            cfg.slack.signing_secret = Some(secret.to_string().into());
        });
        let mut facts = class.facts(&site.base_url(), &["INSTRUCTOR"]);
        let question = "Which topic for the browser review?";
        facts.push(("POLL_QUESTION", question.to_string()));
        facts.push(("SLACK_SECRET", secret.to_string()));
        facts.push(("SLACK_TEAM", team.to_string()));
        facts.push(("STUDENT_UID", class.student.platform_user_id.clone()));
        if let Err(why) = tools.try_run("polls.mjs", &facts) {
            site.shut_down();
            panic!("{}: {why}", db.backend());
        }
        let polls = rt
            .block_on(classcred_service::polls::list(&store, &class.community))
            .unwrap();
        let p = polls.iter().find(|p| p.question == question).unwrap();
        assert_eq!(p.counts, vec![0, 1], "{}", db.backend());
        assert!(p.closed_at.is_some(), "{}", db.backend());
        let votes = rt
            .block_on(classcred_service::polls::member_votes(
                &store,
                &class.community,
                &class.student.id,
            ))
            .unwrap();
        assert!(
            votes.iter().any(|(v, o)| v.poll_id == p.poll_id && *o == 1),
            "{}: the student's vote",
            db.backend()
        );
        site.shut_down();
    }
}

/// The cookie choice with optional usage statistics on (`tests/browser/cookies.mjs`), on each
/// backend: no optional cookie before a choice; Reject → none; Accept → present; changing to
/// Reject from the footer → deleted; the consenting visitor is counted once.
#[test]
fn cookie_choice_in_chromium_on_every_backend() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    );
    for db in rt.block_on(TestDb::all()) {
        let store = rt.block_on(db.store());
        let class = rt.block_on(Class::demo(&store));
        let site = Site::start_with(rt.clone(), store.clone(), |cfg| {
            cfg.usage_statistics = true;
        });
        let facts = class.facts(&site.base_url(), &["STUDENT"]);
        let result = tools.try_run("cookies.mjs", &facts);
        let today = store.clock().now().date_naive().to_string();
        let counts = rt.block_on(store.usage_counts_since(&today)).unwrap();
        site.shut_down();
        if let Err(why) = result {
            panic!("{}: {why}", db.backend());
        }
        // The accepting student was counted once on "my data"; the anonymous visitor who
        // rejected was not counted at all.
        let my_data: i64 = counts
            .iter()
            .filter(|u| u.page_group == "my-data")
            .map(|u| u.visitors)
            .sum();
        assert_eq!(my_data, 1, "{}: {counts:?}", db.backend());
        assert!(
            counts.iter().all(|u| u.page_group != "public"),
            "{}: {counts:?}",
            db.backend()
        );
    }
}
