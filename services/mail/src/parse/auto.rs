//! Whether an automatic answer may be sent: the first of these marks of a robot or a list, in
//! this order, becomes [`AutoKind`]: `Auto-Submitted` with any value but `no`; `Precedence` bulk,
//! junk, list or auto_reply; `X-Auto-Response-Suppress`; `List-Id`; `List-Unsubscribe`; an empty
//! `Return-Path`. A bounce without any of them is marked too, by `extract`.

use mail_parser::MessagePart;

use super::AutoKind;
use super::extract::Extractor;
use super::headers::raw_values;

impl<'x> Extractor<'_, 'x> {
    /// The first mark of a robot or a list on the root part, in the order of the module docs.
    pub(super) fn auto(&self, root: &MessagePart<'x>) -> Option<AutoKind> {
        let raw = self.raw();
        let values = |name: &str| raw_values(raw, root, name);
        if let Some(value) = values("Auto-Submitted")
            .into_iter()
            .map(|v| v.to_ascii_lowercase())
            .find(|v| !v.is_empty())
        {
            let keyword = value.split(';').next().unwrap_or_default().trim();
            if keyword != "no" {
                return Some(AutoKind::AutoSubmitted(value));
            }
        }
        if let Some(value) = values("Precedence")
            .into_iter()
            .map(|v| v.to_ascii_lowercase())
            .find(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"))
        {
            return Some(AutoKind::Precedence(value));
        }
        if values("X-Auto-Response-Suppress")
            .iter()
            .any(|v| !v.is_empty())
        {
            return Some(AutoKind::AutoResponseSuppress);
        }
        if let Some(value) = values("List-Id").into_iter().find(|v| !v.is_empty()) {
            let id = value
                .rsplit_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map_or(value.as_str(), |(id, _)| id)
                .trim()
                .to_owned();
            return Some(AutoKind::ListId(id));
        }
        if !values("List-Unsubscribe").is_empty() {
            return Some(AutoKind::ListUnsubscribe);
        }
        if values("Return-Path")
            .iter()
            .any(|v| v.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "<>")
        {
            return Some(AutoKind::AutoSubmitted("return-path <>".to_owned()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::parse_ok;

    fn auto_of(headers: &str) -> Option<AutoKind> {
        parse_ok(format!("Subject: x\n{headers}\n\nbody\n").as_bytes()).auto
    }

    #[test]
    fn auto_detection_per_header() {
        assert_eq!(auto_of("X-Other: 1"), None);
        assert_eq!(auto_of("Auto-Submitted: no"), None);
        assert_eq!(auto_of("Auto-Submitted: NO"), None);
        assert_eq!(
            auto_of("Auto-Submitted: Auto-Replied"),
            Some(AutoKind::AutoSubmitted("auto-replied".into()))
        );
        assert_eq!(
            auto_of("Auto-Submitted: auto-generated; owner-email=x@y"),
            Some(AutoKind::AutoSubmitted(
                "auto-generated; owner-email=x@y".into()
            ))
        );
        assert_eq!(
            auto_of("Precedence: BULK"),
            Some(AutoKind::Precedence("bulk".into()))
        );
        assert_eq!(
            auto_of("Precedence: junk"),
            Some(AutoKind::Precedence("junk".into()))
        );
        assert_eq!(
            auto_of("Precedence: list"),
            Some(AutoKind::Precedence("list".into()))
        );
        assert_eq!(
            auto_of("Precedence: auto_reply"),
            Some(AutoKind::Precedence("auto_reply".into()))
        );
        assert_eq!(auto_of("Precedence: first-class"), None);
        assert_eq!(
            auto_of("X-Auto-Response-Suppress: OOF, DR"),
            Some(AutoKind::AutoResponseSuppress)
        );
        assert_eq!(
            auto_of("X-Auto-Response-Suppress: All"),
            Some(AutoKind::AutoResponseSuppress)
        );
        assert_eq!(
            auto_of("List-Id: Docket users <users.docket.example>"),
            Some(AutoKind::ListId("users.docket.example".into()))
        );
        assert_eq!(
            auto_of("List-Unsubscribe: <mailto:leave@example.com>"),
            Some(AutoKind::ListUnsubscribe)
        );
        assert_eq!(
            auto_of("Return-Path: <>"),
            Some(AutoKind::AutoSubmitted("return-path <>".into()))
        );
        assert_eq!(auto_of("Return-Path: <a@example.com>"), None);
        // The first found, in the documented order.
        assert_eq!(
            auto_of("List-Id: <l.example>\nPrecedence: bulk\nAuto-Submitted: auto-replied"),
            Some(AutoKind::AutoSubmitted("auto-replied".into()))
        );
        assert_eq!(
            auto_of("List-Unsubscribe: <x>\nList-Id: <l.example>"),
            Some(AutoKind::ListId("l.example".into()))
        );
    }
}
