//! The authorization matrix: every route of the route table × {anonymous, student,
//! instructor, admin, admin of another community} → the expected status. A route added to the
//! table without a row here fails the test, and a row for a route that no longer exists too.

use axum::http::StatusCode;
use classcred_store::testing::TestDb;
use classcred_web::{route_table, Access, Method};

use crate::support::World;

const SEE_OTHER: u16 = 303;
const OK: u16 = 200;
const BAD: u16 = 400;
const FORBIDDEN: u16 = 403;
const NOT_FOUND: u16 = 404;

/// `(method, path, access, [anonymous, student, instructor, admin, admin of B])`.
/// The login route without a token is a bad request for everyone; POST /logout signs a
/// member out (303) and sends the anonymous back to `/` (303).
const EXPECTED: &[(Method, &str, Access, [u16; 5])] = &[
    (Method::Get, "/", Access::Public, [OK, OK, OK, OK, OK]),
    (
        Method::Get,
        "/static/classcred.css",
        Access::Public,
        [OK, OK, OK, OK, OK],
    ),
    (
        Method::Get,
        "/dashboard/login",
        Access::Public,
        [BAD, BAD, BAD, BAD, BAD],
    ),
    (
        Method::Post,
        "/dashboard/login",
        Access::Public,
        [BAD, BAD, BAD, BAD, BAD],
    ),
    (
        Method::Post,
        "/logout",
        Access::Member,
        [SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER],
    ),
    (
        Method::Get,
        "/dashboard",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Get,
        "/dashboard/members",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/members/{member_id}/role",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Get,
        "/dashboard/leaderboard",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Get,
        "/dashboard/network",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    // Announcements (issue 11): staff; an empty form names no channel (this class is on
    // Slack): 422; the literal `{id}` is no announcement (the real cases are in
    // `announcements`).
    (
        Method::Get,
        "/dashboard/announcements",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Get,
        "/dashboard/questions",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    // No question and answer in the form: 400 for staff.
    (
        Method::Post,
        "/dashboard/questions/accept",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, BAD, BAD, BAD],
    ),
    (
        Method::Get,
        "/dashboard/settings/questions",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/announcements",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, 422, 422, 422],
    ),
    (
        Method::Get,
        "/dashboard/announcements/{id}",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/dashboard/announcements/{id}",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/dashboard/announcements/{id}/cancel",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/dashboard/settings/questions",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, 422, 422],
    ),
    (
        Method::Get,
        "/dashboard/settings/firsts",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/settings/firsts",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, 422, 422],
    ),
    // The literal `{member_id}` is no member id: 404 for everyone signed in (the real
    // 200/403/404 cases are in `class_pages`).
    (
        Method::Get,
        "/dashboard/students/{member_id}",
        Access::Member,
        [SEE_OTHER, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/dashboard/students/{member_id}/badges",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Get,
        "/dashboard/exports",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Get,
        "/dashboard/exports/points.csv",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Get,
        "/dashboard/exports/canvas.csv",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    // Starts a full export (a job) and redirects to its page.
    (
        Method::Post,
        "/dashboard/exports",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, SEE_OTHER, SEE_OTHER],
    ),
    // The literal `{export_id}` is no export: 404 for everyone signed in (the real cases are
    // in `exports`).
    (
        Method::Get,
        "/dashboard/exports/{export_id}",
        Access::Member,
        [SEE_OTHER, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Get,
        "/dashboard/exports/{export_id}/download",
        Access::Member,
        [SEE_OTHER, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Get,
        "/dashboard/settings/rewards",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/settings/rewards",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, 422, 422],
    ),
    (
        Method::Get,
        "/dashboard/settings/course",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/settings/course",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, 422, 422],
    ),
    (
        Method::Get,
        "/dashboard/settings/retention",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/settings/retention",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, 422, 422],
    ),
    (
        Method::Get,
        "/me",
        Access::Member,
        [SEE_OTHER, OK, OK, OK, OK],
    ),
    (
        Method::Get,
        "/dashboard/privacy/erasures",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, OK, OK],
    ),
    // No target in the form: a bad request.
    (
        Method::Post,
        "/dashboard/privacy/erasures",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, BAD, BAD],
    ),
    (
        Method::Post,
        "/dashboard/privacy/erasures/{request_id}/cancel",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND],
    ),
    // No kind chosen: the form is shown again with its message.
    (
        Method::Post,
        "/me/privacy-requests",
        Access::Member,
        [SEE_OTHER, 422, 422, 422, 422],
    ),
    // The literal `{request_id}` is no request (the real cases are in `privacy_requests`).
    (
        Method::Post,
        "/me/privacy-requests/{request_id}/cancel",
        Access::Member,
        [SEE_OTHER, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Get,
        "/dashboard/privacy/requests",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/privacy/requests/{request_id}/approve",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND],
    ),
    // No reason: refused before anything is looked up.
    (
        Method::Post,
        "/dashboard/privacy/requests/{request_id}/decline",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, 422, 422],
    ), // Privacy policy versions (issue 12): the public text; the acknowledgement form without a
    // version id is unreadable (the real cases are in `policy`).
    (
        Method::Get,
        "/privacy/policy",
        Access::Public,
        [OK, OK, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/policy/acknowledge",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, BAD, BAD],
    ),
    (
        Method::Get,
        "/privacy",
        Access::Public,
        [OK, OK, OK, OK, OK],
    ),
    // Usage statistics are off in this world: the cookie choice is not a route.
    (
        Method::Post,
        "/consent",
        Access::Public,
        [NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    // A research release: a zip for Admins of the class (the real cases are in `research`).
    (
        Method::Get,
        "/dashboard/research",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/research",
        Access::Admin,
        [SEE_OTHER, FORBIDDEN, FORBIDDEN, OK, OK],
    ),
    // The class store (issue 11): an empty item form is shown again with its messages; the
    // literal `{…_id}` names no item or purchase (the real cases are in `store`).
    (
        Method::Get,
        "/dashboard/store",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/store/items",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, 422, 422, 422],
    ),
    (
        Method::Post,
        "/dashboard/store/items/{item_id}",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/dashboard/store/purchases/{purchase_id}/approve",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/dashboard/store/purchases/{purchase_id}/reject",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/me/store/purchases/{purchase_id}/cancel",
        Access::Member,
        [SEE_OTHER, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    // Polls and debates (issue 11): an empty form is shown again with its messages; the
    // literal `{poll_id}` names no poll (the real cases are in `polls`).
    (
        Method::Get,
        "/dashboard/polls",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/polls",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, 422, 422, 422],
    ),
    (
        Method::Post,
        "/dashboard/polls/{poll_id}/close",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    // Custom reward rules (issue 11): an empty form chooses no trigger (422); the literal
    // `{rule_id}` names no rule (the real cases are in `rules`).
    (
        Method::Get,
        "/dashboard/rules",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, OK, OK, OK],
    ),
    (
        Method::Post,
        "/dashboard/rules",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, 422, 422, 422],
    ),
    (
        Method::Post,
        "/dashboard/rules/{rule_id}/enable",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
    (
        Method::Post,
        "/dashboard/rules/{rule_id}/disable",
        Access::Staff,
        [SEE_OTHER, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
    ),
];

#[tokio::test]
async fn every_route_answers_each_kind_of_visitor_as_expected() {
    let table = route_table();
    for route in &table {
        assert!(
            EXPECTED
                .iter()
                .any(|(m, p, a, _)| *m == route.method && *p == route.path && *a == route.access),
            "route {:?} {} ({:?}) has no row in the matrix",
            route.method,
            route.path,
            route.access
        );
    }
    assert_eq!(table.len(), EXPECTED.len(), "a matrix row names no route");
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        for (method, path, _, expected) in EXPECTED {
            let visitors = [
                None,
                Some((&w.a, &w.student_a)),
                Some((&w.a, &w.instructor_a)),
                Some((&w.a, &w.admin_a)),
                Some((&w.b, &w.admin_b)),
            ];
            for (who, want) in visitors.iter().zip(expected) {
                // A fresh session per cell: POST /logout ends the one it is given.
                let cookie = match who {
                    Some((c, m)) => Some(w.sign_in(c, m).await),
                    None => None,
                };
                let r = match method {
                    Method::Get => w.get(path, cookie.as_deref()).await,
                    Method::Post => {
                        let form = match &cookie {
                            Some(c) => format!("csrf={}", w.csrf(c).await),
                            None => String::new(),
                        };
                        w.post(path, cookie.as_deref(), &form).await
                    }
                };
                assert_eq!(
                    r.status,
                    StatusCode::from_u16(*want).unwrap(),
                    "{method:?} {path} as visitor #{} ({})",
                    visitors.iter().position(|v| v == who).unwrap(),
                    db.backend()
                );
                if r.status == StatusCode::SEE_OTHER && cookie.is_none() {
                    assert_eq!(r.header(axum::http::header::LOCATION), Some("/"));
                }
            }
        }
    }
}
