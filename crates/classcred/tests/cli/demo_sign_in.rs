//! `classcred demo` prints an Admin and a Student sign-in link after "listening on …"; the
//! Admin's link signs in (open it, press Continue) and lands on the overview.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::*;

#[test]
fn the_demo_prints_sign_in_links_and_the_admin_link_opens_the_overview() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .current_dir(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    let mut line = next();
    while !line.starts_with("classcred listening on ") {
        line = next();
    }
    let addr = line["classcred listening on ".len()..].to_owned();
    let base = format!("http://{addr}");
    let admin = next();
    let student = next();
    let admin_url = admin
        .strip_prefix("Admin sign-in: ")
        .unwrap_or_else(|| panic!("{admin}"))
        .to_owned();
    let student_url = student
        .strip_prefix("Student sign-in: ")
        .unwrap_or_else(|| panic!("{student}"))
        .to_owned();
    for url in [&admin_url, &student_url] {
        assert!(
            url.starts_with(&format!("{base}/dashboard/login?token=v1.")),
            "{url}"
        );
    }
    assert_ne!(admin_url, student_url);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (status, location, cookie) =
        rt.block_on(sign_in_over_http(&http, &base, &admin_url[base.len()..]));
    assert_eq!(status, 303);
    let location = location.expect("a redirect");
    assert_eq!(location, "/dashboard");
    let cookie = cookie.expect("a session cookie");
    let (status, body) = rt.block_on(async {
        let r = http
            .get(format!("{base}{location}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Overview") && body.contains("CS 101"),
        "{body}"
    );

    let (status, location, _) =
        rt.block_on(sign_in_over_http(&http, &base, &student_url[base.len()..]));
    assert_eq!((status, location.as_deref()), (303, Some("/me")));

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}
