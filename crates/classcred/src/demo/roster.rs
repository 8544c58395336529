//! Who is in the demo class and what they write: staff, 40 students with the roles they play in
//! the recognition network (isolated, a closed pair, close friends, popular classmates), one
//! bot, and the texts of their messages. Data only; `timeline.rs` decides who does what when.

use classcred_store::{MemberKind, MemberProfile, NewMember, Role};

/// Students in the demo class.
pub const STUDENTS: usize = 40;
/// The Admin's platform user id.
pub const ADMIN_UID: &str = "UDEMO0ADMIN";
/// The Instructor's platform user id.
pub const INSTRUCTOR_UID: &str = "UDEMO0TA001";
/// The bot's platform user id.
pub const BOT_UID: &str = "UDEMO0BOT01";
/// Students (indices) who neither give nor receive fire.
pub const ISOLATED: [usize; 3] = [37, 38, 39];
/// Two students (indices) who recognise only each other, and whom nobody else recognises.
pub const CLOSED_PAIR: (usize, usize) = (35, 36);
/// The students who recognise one another freely: everyone but the isolated and the pair.
pub const OPEN: usize = 35;
/// Close friends who recognise each other often (their gives get taxed).
pub const FRIENDS: [(usize, usize); 4] = [(0, 1), (4, 9), (12, 13), (20, 27)];

const FIRST: [&str; STUDENTS] = [
    "Amara", "Bao", "Carmen", "Dmitri", "Elif", "Farah", "Gabriel", "Hana", "Ivan", "Jamal",
    "Keiko", "Luca", "Maya", "Nikhil", "Olga", "Pedro", "Qing", "Rosa", "Samir", "Tove", "Uma",
    "Viktor", "Wanjiru", "Yusuf", "Zara", "Aiden", "Beatriz", "Chidi", "Dana", "Emeka", "Freya",
    "Goran", "Ines", "Jonas", "Kavya", "Lena", "Mateo", "Noor", "Oskar", "Priya",
];
const LAST: [&str; STUDENTS] = [
    "Okafor",
    "Nguyen",
    "Ruiz",
    "Petrov",
    "Yilmaz",
    "Haddad",
    "Silva",
    "Sato",
    "Kowalski",
    "Bakr",
    "Tanaka",
    "Romano",
    "Cohen",
    "Iyer",
    "Smirnova",
    "Alves",
    "Zhang",
    "Moreno",
    "Aziz",
    "Lindqvist",
    "Devi",
    "Horvat",
    "Mwangi",
    "Demir",
    "Khan",
    "Murphy",
    "Costa",
    "Eze",
    "Levi",
    "Obi",
    "Hansen",
    "Novak",
    "Garcia",
    "Berg",
    "Rao",
    "Fischer",
    "Torres",
    "Saleh",
    "Nilsson",
    "Menon",
];
const ZONES: [&str; 4] = [
    "America/New_York",
    "America/Chicago",
    "Europe/Berlin",
    "Asia/Kolkata",
];

/// Feedback that goes with fire, about the course's topics.
pub const THANKS: &[&str] = &[
    "thanks for explaining recursion with the Russian dolls",
    "great notes from lecture 3, they saved my weekend",
    "your pointer diagram finally made it click",
    "thanks for debugging my off-by-one loop with me",
    "awesome answer about big-O in the forum",
    "thanks for sharing the practice quiz",
    "great pairing session today, you are patient",
    "you made git rebase make sense",
    "that test case you suggested caught my bug",
    "thanks for the walkthrough of binary search",
    "your summary of hash maps was clearer than the book",
    "thank you for staying late in the lab",
    "brilliant question in lecture, I had the same doubt",
    "thanks for reviewing my pull request so carefully",
    "your flashcards for the midterm are gold",
    "thanks for helping me set up the compiler",
    "great demo of the debugger in section",
    "you explained stack vs heap better than anyone",
    "thanks for organising the study group",
    "loved your project presentation",
];

/// Messages without fire: the class talking.
pub const CHATTER: &[&str] = &[
    "is the lab due Friday or Monday?",
    "anyone want to study in the library tonight?",
    "the autograder is slow right now, be patient",
    "which chapter covers linked lists?",
    "office hours moved to room 204 today",
    "does anyone have the slides from Tuesday?",
    "good luck on the quiz everyone",
    "is it ok to use the standard library for lab 4?",
];

/// What the instructor says when giving fire.
pub const INSTRUCTOR_THANKS: &[&str] = &[
    "excellent work on the lab write-up",
    "great help to your classmates in the forum this week",
    "very clean solution to problem set 2",
    "thanks for the thoughtful question after class",
];

/// A student's platform user id.
pub fn student_uid(i: usize) -> String {
    format!("UDEMO{:06}", i + 1)
}

fn profile(first: &str, last: &str, tz: &str) -> MemberProfile {
    MemberProfile {
        name: Some(format!("{first} {last}")),
        display_name: Some(first.to_lowercase()),
        email: Some(format!(
            "{}.{}@riverbend.example.edu",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        avatar_url: Some(format!(
            "https://avatars.example.edu/{}.png",
            first.to_lowercase()
        )),
        timezone: Some(tz.into()),
    }
}

/// Everyone in the class, staff first, then the students, then the bot.
pub fn members() -> Vec<NewMember> {
    let person = |uid: String, role, first: &str, last: &str, tz: &str| NewMember {
        platform_user_id: uid,
        role,
        kind: MemberKind::Human,
        profile: profile(first, last, tz),
    };
    let mut all = vec![
        person(ADMIN_UID.into(), Role::Admin, "Grace", "Hopper", ZONES[0]),
        person(
            INSTRUCTOR_UID.into(),
            Role::Instructor,
            "Alan",
            "Kay",
            ZONES[0],
        ),
    ];
    for i in 0..STUDENTS {
        all.push(person(
            student_uid(i),
            Role::Student,
            FIRST[i],
            LAST[i],
            ZONES[i % ZONES.len()],
        ));
    }
    all.push(NewMember {
        platform_user_id: BOT_UID.into(),
        role: Role::Student,
        kind: MemberKind::Bot,
        profile: MemberProfile {
            name: Some("Lab Reminder Bot".into()),
            display_name: Some("labbot".into()),
            ..MemberProfile::default()
        },
    });
    all
}
