//! The OpenAPI document: version 3.1, every route of the router's table documented with its
//! method, the bearer scheme declared, and the served document equal to the generated one.

use classcred_api::openapi::{ApiDoc, BEARER_SCHEME};
use classcred_api::route_table;
use classcred_api::routes::OPENAPI_PATH;
use classcred_store::testing::TestDb;

use crate::support::world;

fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::document()).unwrap()
}

#[test]
fn every_route_is_in_the_document() {
    let doc = document();
    let paths = doc["paths"].as_object().unwrap();
    let table = route_table();
    assert!(table.len() >= 9);
    for route in &table {
        let method = route.method.as_str().to_lowercase();
        assert!(
            paths.get(route.path).and_then(|p| p.get(&method)).is_some(),
            "{} {} is served but not in the OpenAPI document",
            route.method,
            route.path
        );
    }
    // And nothing is documented that is not served.
    let served = |path: &str, method: &str| {
        table
            .iter()
            .any(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method))
    };
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            assert!(
                served(path, method),
                "{method} {path} documented but not served"
            );
        }
    }
}

#[test]
fn the_document_is_openapi_3_1_with_bearer_security() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let scheme = &doc["components"]["securitySchemes"][BEARER_SCHEME];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for (path, item) in doc["paths"].as_object().unwrap() {
        let get = &item["get"];
        let security = get["security"].as_array().unwrap();
        if path == OPENAPI_PATH {
            assert!(security.iter().all(|s| s.as_object().unwrap().is_empty()));
        } else {
            assert!(
                security.iter().any(|s| s.get(BEARER_SCHEME).is_some()),
                "{path}"
            );
            assert!(
                get["responses"].get("401").is_some(),
                "{path} documents 401"
            );
        }
    }
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let db = TestDb::sqlite().await;
    let w = world(&db).await;
    let r = w.get(OPENAPI_PATH, None).await;
    assert_eq!(r.status(), 200);
    let served: serde_json::Value = r.json().await.unwrap();
    assert_eq!(served, document());
}
