//! `teams/manifest.json`: a Teams app manifest for this bot, its command list the adapter's.

use serde_json::Value;

fn manifest() -> Value {
    let path = crate::test_path("../../../teams/manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_manifest_names_the_bot_its_scopes_and_exactly_our_commands() {
    let m = manifest();
    assert_eq!(m["manifestVersion"], "1.17");
    let bots = m["bots"].as_array().unwrap();
    assert_eq!(bots.len(), 1);
    let bot = &bots[0];
    assert_eq!(
        bot["botId"], m["id"],
        "the bot id is the app id placeholder"
    );
    let scopes: Vec<&str> = bot["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["personal", "team", "groupChat"]);
    let mut titles: Vec<&str> = bot["commandLists"][0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    titles.sort_unstable();
    let mut ours = classcred_teams::commands::COMMANDS.to_vec();
    ours.sort_unstable();
    assert_eq!(
        titles, ours,
        "the manifest lists exactly the commands the adapter answers"
    );
    for icon in ["color", "outline"] {
        let file = m["icons"][icon].as_str().unwrap();
        let bytes = std::fs::read(crate::test_path(&format!("../../../teams/{file}"))).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{file} is a PNG");
    }
}
