//! The independent model of the rules that the end-to-end scenarios are checked against: it
//! reads the scenario's intents (who was meant to get how many fire), never message text.

use super::*;

#[derive(Clone, Copy)]
struct Unit {
    giver: usize,
    recipient: usize,
    day: NaiveDate,
    week: (i32, u32),
    net: i64,
}

#[derive(Default)]
struct MsgRec {
    deleted: bool,
    version: Option<DateTime<Utc>>,
    recipients: Vec<(usize, Vec<Unit>)>,
}

#[derive(Default)]
struct ReactRec {
    version: Option<DateTime<Utc>>,
    standing: Option<Unit>,
}

#[derive(Default)]
pub(super) struct Model {
    pub(super) earned: BTreeMap<usize, i64>,
    quota: HashMap<(usize, NaiveDate), u32>,
    weekly: HashMap<(usize, usize, (i32, u32)), u32>,
    messages: HashMap<usize, MsgRec>,
    reactions: HashMap<(usize, usize), ReactRec>,
    // What the scenario exercised.
    pub(super) taxed_units: usize,
    pub(super) refused_gives: usize,
    pub(super) reversed_units: usize,
}

fn local_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Berlin).date_naive()
}

impl Model {
    fn rate(nth: u32) -> i64 {
        match nth {
            0..=15 => 0,
            16..=20 => 50,
            _ => 90,
        }
    }

    /// All or nothing.
    fn give(
        &mut self,
        giver: usize,
        wants: &[(usize, u32)],
        at: DateTime<Utc>,
    ) -> Option<Vec<Vec<Unit>>> {
        let total: u32 = wants.iter().map(|w| w.1).sum();
        if total == 0 {
            return Some(wants.iter().map(|_| Vec::new()).collect());
        }
        let day = local_day(at);
        let used = self.quota.get(&(giver, day)).copied().unwrap_or(0);
        if used + total > QUOTA {
            self.refused_gives += 1;
            return None;
        }
        let iso = day.iso_week();
        let week = (iso.year(), iso.week());
        let mut out = Vec::new();
        for &(r, count) in wants {
            let mut units = Vec::new();
            for _ in 0..count {
                let n = self.weekly.entry((giver, r, week)).or_default();
                *n += 1;
                let rate = Self::rate(*n);
                if rate > 0 {
                    self.taxed_units += 1;
                }
                let net = 1000 - rate * 10;
                *self.earned.entry(r).or_default() += net;
                units.push(Unit {
                    giver,
                    recipient: r,
                    day,
                    week,
                    net,
                });
            }
            out.push(units);
        }
        *self.quota.entry((giver, day)).or_default() += total;
        Some(out)
    }

    fn reverse(&mut self, u: Unit, at: DateTime<Utc>) {
        self.reversed_units += 1;
        *self.earned.entry(u.recipient).or_default() -= u.net;
        if local_day(at) == u.day {
            *self.quota.entry((u.giver, u.day)).or_default() -= 1;
        }
        *self
            .weekly
            .entry((u.giver, u.recipient, u.week))
            .or_default() -= 1;
    }

    fn eligible(author: usize, mentions: &[usize], fire: u32) -> Vec<usize> {
        let mut out = Vec::new();
        if fire == 0 {
            return out;
        }
        for &m in mentions {
            // Bots, deactivated users, other workspaces' users and unknown ids: never.
            if m != author && m < MEMBERS && !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    fn create(
        &mut self,
        msg: usize,
        author: usize,
        mentions: &[usize],
        fire: u32,
        at: DateTime<Utc>,
    ) -> MsgRec {
        let recipients = Self::eligible(author, mentions, fire);
        let mut rec = MsgRec {
            deleted: false,
            version: Some(at),
            recipients: Vec::new(),
        };
        if !recipients.is_empty() {
            let wants: Vec<(usize, u32)> = recipients.iter().map(|r| (*r, fire)).collect();
            if let Some(given) = self.give(author, &wants, at) {
                rec.recipients = recipients.into_iter().zip(given).collect();
            }
        }
        let _ = msg;
        rec
    }

    pub(super) fn apply(&mut self, posts: &[Post], e: &Ev) {
        match &e.kind {
            Kind::Join(_) => {}
            Kind::Post {
                msg,
                mentions,
                fire,
                ..
            } => {
                if self.messages.contains_key(msg) || *fire == 0 {
                    return;
                }
                let rec = self.create(*msg, posts[*msg].author, mentions, *fire, e.at);
                self.messages.insert(*msg, rec);
            }
            Kind::Edit {
                msg,
                mentions,
                fire,
                ..
            } => {
                let author = posts[*msg].author;
                let Some(mut rec) = self.messages.remove(msg) else {
                    let rec = self.create(*msg, author, mentions, *fire, e.at);
                    self.messages.insert(*msg, rec);
                    return;
                };
                if rec.deleted || rec.version.is_some_and(|v| v >= e.at) {
                    self.messages.insert(*msg, rec);
                    return;
                }
                let desired = Self::eligible(author, mentions, *fire);
                for (r, standing) in &mut rec.recipients {
                    let keep = if desired.contains(r) {
                        *fire as usize
                    } else {
                        0
                    };
                    if standing.len() > keep {
                        for u in standing.split_off(keep) {
                            self.reverse(u, e.at);
                        }
                    }
                }
                let wants: Vec<(usize, u32)> = desired
                    .iter()
                    .filter_map(|r| {
                        let have = rec
                            .recipients
                            .iter()
                            .find(|(x, _)| x == r)
                            .map_or(0, |(_, s)| s.len() as u32);
                        (*fire > have).then(|| (*r, *fire - have))
                    })
                    .collect();
                if let Some(given) = self.give(author, &wants, e.at) {
                    for ((r, _), units) in wants.into_iter().zip(given) {
                        match rec.recipients.iter_mut().find(|(x, _)| *x == r) {
                            Some((_, s)) => s.extend(units),
                            None => rec.recipients.push((r, units)),
                        }
                    }
                }
                rec.version = Some(e.at);
                self.messages.insert(*msg, rec);
            }
            Kind::Delete { msg } => {
                let mut rec = self.messages.remove(msg).unwrap_or_default();
                if rec.deleted {
                    self.messages.insert(*msg, rec);
                    return;
                }
                for (_, standing) in std::mem::take(&mut rec.recipients) {
                    for u in standing {
                        self.reverse(u, e.at);
                    }
                }
                rec.deleted = true;
                self.messages.insert(*msg, rec);
                let keys: Vec<(usize, usize)> = self
                    .reactions
                    .keys()
                    .filter(|(m, _)| m == msg)
                    .copied()
                    .collect();
                for k in keys {
                    if let Some(u) = self.reactions.get_mut(&k).and_then(|r| r.standing.take()) {
                        self.reverse(u, e.at);
                    }
                }
            }
            Kind::React { emoji, .. } if *emoji != "fire" => {}
            Kind::React {
                msg, reactor, add, ..
            } => {
                if self.messages.get(msg).is_some_and(|m| m.deleted) {
                    return;
                }
                let author = posts[*msg].author;
                let mut rec = self.reactions.remove(&(*msg, *reactor)).unwrap_or_default();
                if rec.version.is_some_and(|v| v >= e.at) {
                    self.reactions.insert((*msg, *reactor), rec);
                    return;
                }
                rec.version = Some(e.at);
                if *add {
                    if rec.standing.is_none() && *reactor != author {
                        if let Some(g) = self.give(*reactor, &[(author, 1)], e.at) {
                            rec.standing = g.into_iter().flatten().next();
                        }
                    }
                } else if let Some(u) = rec.standing.take() {
                    self.reverse(u, e.at);
                }
                self.reactions.insert((*msg, *reactor), rec);
            }
        }
    }
}
