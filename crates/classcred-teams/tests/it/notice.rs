//! A notice as the seam hands it to the adapter.

use classcred_platform::{Doc, Line, OutgoingNotice, Span};
use classcred_store::{Community, MemberRowId};

pub fn outgoing(
    community: &Community,
    member: &MemberRowId,
    platform_user_id: &str,
) -> OutgoingNotice {
    let notice = classcred_engine::Notice {
        to: classcred_engine::MemberId::new(member.to_string()),
        kind: classcred_engine::NoticeKind::SelfFireRefused,
    };
    OutgoingNotice {
        community: community.clone(),
        member_id: member.clone(),
        platform_user_id: platform_user_id.to_owned(),
        doc: Doc {
            lines: vec![Line {
                bullet: false,
                spans: vec![Span::Text(notice.kind.to_string()), Span::Fire],
            }],
        },
        notice,
        source: None,
        job_id: "job-notice-1".into(),
    }
}
