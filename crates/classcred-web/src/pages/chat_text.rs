//! Chat message text as a person reads it: platform mentions (`<@U123>`, `<@U123|handle>`)
//! become `@Name`, and the `:fire:` shortcode becomes 🔥. Used wherever a page shows what a
//! member wrote (a student's page, "my data"); the text is escaped by the template afterwards.

use std::collections::HashMap;

/// `text` with mentions named from `names_by_platform_id` (unknown ids stay as written) and
/// `:fire:` shown as 🔥.
pub fn readable(text: &str, names_by_platform_id: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("<@") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let Some(end) = tail.find('>') else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let id = tail[..end].split('|').next().unwrap_or_default();
        match names_by_platform_id.get(id) {
            Some(name) => {
                out.push('@');
                out.push_str(name);
            }
            None => out.push_str(&rest[at..at + 2 + end + 1]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out.replace(":fire:", "🔥")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_named_and_fire_is_shown() {
        let names = HashMap::from([("U1".to_owned(), "Amara Okafor".to_owned())]);
        assert_eq!(
            readable("<@U1> thanks :fire: :fire:", &names),
            "@Amara Okafor thanks 🔥 🔥"
        );
        assert_eq!(readable("hi <@U1|amara>!", &names), "hi @Amara Okafor!");
        assert_eq!(readable("<@U9> ok", &names), "<@U9> ok");
        assert_eq!(readable("broken <@U1", &names), "broken <@U1");
    }
}
