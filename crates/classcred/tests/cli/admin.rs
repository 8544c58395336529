//! `classcred admin login-link`: only the URL on stdout, the first Admin by default, clear
//! errors, and a link that signs in on a running server (open it, press Continue).

use crate::support::*;

fn link_of(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the URL on stdout: {out:?}");
    lines[0].to_owned()
}

#[test]
fn login_link_prints_only_a_url_that_signs_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);

    // Default: the community's first Admin; the base is http://<listen> without public_url.
    let admin = link_of(&run(d, &["admin", "login-link", "--community", &c]));
    assert!(
        admin.starts_with("http://127.0.0.1:8080/dashboard/login?token=v1."),
        "{admin}"
    );
    // A named member, and the configured public URL.
    let o = bin()
        .current_dir(d)
        .env("CLASSCRED_PUBLIC_URL", "https://classcred.example.org/")
        .args([
            "admin",
            "login-link",
            "--community",
            &c,
            "--member",
            "UDEMO0TA001",
        ])
        .output()
        .unwrap();
    let ta = link_of(&o);
    assert!(
        ta.starts_with("https://classcred.example.org/dashboard/login?token=v1."),
        "{ta}"
    );
    assert_ne!(admin, ta);

    // Clear errors, nothing on stdout.
    let o = run(
        d,
        &[
            "admin",
            "login-link",
            "--community",
            &c,
            "--member",
            "UNOBODY",
        ],
    );
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    assert!(
        text(&o).contains("no member with platform user id"),
        "{}",
        text(&o)
    );
    let other = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let o = run(d, &["admin", "login-link", "--community", other]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no community"), "{}", text(&o));

    // On a running server the link signs in once: a session cookie, then the dashboard.
    let srv = start_server(d, "127.0.0.1:0");
    let path = &admin["http://127.0.0.1:8080".len()..];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", srv.addr);
    // Opening the link only asks "Continue to …"; pressing Continue signs in.
    let (status, location, cookie) = rt.block_on(sign_in_over_http(&http, &base, path));
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/dashboard"));
    let cookie = cookie.expect("a session cookie");
    let (status, body) = rt.block_on(async {
        let r = http
            .get(format!("{base}/dashboard"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Overview"));
    let again = rt.block_on(async {
        http.get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(again, 403, "a link signs in once");
    let landing = rt.block_on(async {
        reqwest::get(format!("{base}/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(landing.contains("How to sign in"));
    stop(srv);
}
