//! HTML bodies: sanitised with ammonia (no remote content), and turned into plain text without
//! building a tree.

use std::borrow::Cow;
use std::collections::HashSet;

use super::{MIB, strip_prefix_ci};

/// HTML larger or nested deeper than this is not given to the sanitiser (html5ever's tree
/// builder is quadratic in nesting depth): such a body is shown as escaped text instead.
pub(super) const MAX_HTML_BYTES: usize = 4 * MIB;
pub(super) const MAX_HTML_DEPTH: usize = 256;

/// ammonia with no remote content: images only from `cid:` or `data:image/…`, links only to
/// http(s) and mailto, no relative URLs.
pub(super) fn sanitize_html(html: &str) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(HashSet::from(["cid", "data", "http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "src") => {
                let v = value.trim();
                (strip_prefix_ci(v, "cid:").is_some()
                    || strip_prefix_ci(v, "data:image/").is_some())
                .then(|| value.into())
            }
            (_, "href" | "src" | "cite" | "action" | "longdesc") => {
                strip_prefix_ci(value.trim(), "data:")
                    .is_none()
                    .then(|| value.into())
            }
            _ => Some(value.into()),
        });
    builder.clean(html).to_string()
}

pub(super) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How deep elements nest, counted naively from the tags (no tree is built): elements without
/// content and those whose end tag is optional and that cannot nest in themselves do not count.
pub(super) fn html_nesting_depth(html: &str) -> usize {
    const NOT_COUNTED: [&str; 30] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "td", "th", "tr", "dt", "dd", "option", "optgroup",
        "tbody", "thead", "tfoot", "colgroup", "rb", "rt", "rp",
    ];
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = rest.get(open + 1..).unwrap_or_default();
        if let Some(comment) = rest.strip_prefix("!--") {
            rest = comment
                .find("-->")
                .and_then(|end| comment.get(end + 3..))
                .unwrap_or_default();
            continue;
        }
        let closing = rest.starts_with('/');
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || NOT_COUNTED.contains(&name.as_str()) {
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let self_closing = rest.get(..end).is_some_and(|tag| tag.ends_with('/'));
        if closing {
            depth = depth.saturating_sub(1);
        } else if !self_closing {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// Whether sanitised HTML shows anything: text, or an image ammonia kept a source for (`cid:`
/// or `data:`). Script, style and head content are not text.
pub(super) fn has_visible_content(sanitized: &str) -> bool {
    !html_to_text(sanitized).trim().is_empty() || sanitized.contains(" src=\"")
}

/// Plain text of an HTML body: tags stripped, entities decoded, line breaks for block elements,
/// script/style/head content dropped.
pub(super) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut pending_space = false;
    let mut in_pre = 0usize;
    while !rest.is_empty() {
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment
                .find("-->")
                .and_then(|end| comment.get(end + 3..))
                .unwrap_or_default();
            continue;
        }
        let is_tag = rest.starts_with('<')
            && rest
                .get(1..)
                .and_then(|r| r.chars().next())
                .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        if is_tag {
            let Some(end) = tag_end(rest) else {
                break;
            };
            let inner = rest.get(1..end).unwrap_or_default();
            rest = rest.get(end + 1..).unwrap_or_default();
            let closing = inner.starts_with('/');
            let name: String = inner
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            let self_closing = inner.ends_with('/');
            match name.as_str() {
                "script" | "style" | "head" | "title" | "template" | "noscript"
                    if !closing && !self_closing =>
                {
                    rest = skip_to_closing_tag(rest, &name);
                }
                "br" => {
                    out.push('\n');
                    pending_space = false;
                }
                "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "table" | "ul"
                | "ol" | "dl" => {
                    paragraph_break(&mut out);
                    pending_space = false;
                }
                "div" | "tr" | "hr" | "section" | "article" | "header" | "footer" | "address"
                | "dt" | "dd" | "center" | "form" | "fieldset" => {
                    line_break(&mut out);
                    pending_space = false;
                }
                "pre" => {
                    paragraph_break(&mut out);
                    pending_space = false;
                    in_pre = if closing {
                        in_pre.saturating_sub(1)
                    } else {
                        in_pre + 1
                    };
                }
                "li" => {
                    line_break(&mut out);
                    if !closing {
                        out.push_str("- ");
                    }
                    pending_space = false;
                }
                "td" | "th" if closing => pending_space = true,
                _ => {}
            }
            continue;
        }
        let next = rest
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c == '<')
            .map_or(rest.len(), |(i, _)| i);
        let (run, after) = rest.split_at_checked(next).unwrap_or((rest, ""));
        rest = after;
        let decoded = decode_entities(run);
        if in_pre > 0 {
            out.push_str(&decoded);
            continue;
        }
        for c in decoded.chars() {
            if c.is_whitespace() && c != '\u{A0}' {
                pending_space = true;
                continue;
            }
            if pending_space && !out.is_empty() && !out.ends_with(['\n', ' ']) {
                out.push(' ');
            }
            pending_space = false;
            out.push(if c == '\u{A0}' { ' ' } else { c });
        }
    }
    tidy_lines(&out)
}

/// Index of the `>` that closes the tag at the start of `text`, minding quoted attributes.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn skip_to_closing_tag<'h>(html: &'h str, name: &str) -> &'h str {
    for (i, _) in html.match_indices("</") {
        let candidate = html.get(i + 2..i + 2 + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name)) {
            return html.get(i..).unwrap_or_default();
        }
    }
    ""
}

fn line_break(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn paragraph_break(out: &mut String) {
    line_break(out);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// Trailing spaces off every line, at most one blank line in a row, no blank lines at the ends.
fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let (before, from_amp) = rest.split_at_checked(amp).unwrap_or((rest, ""));
        out.push_str(before);
        let entity = from_amp
            .get(1..)
            .and_then(|r| r.find(';').filter(|&end| end <= 32).map(|end| (r, end)))
            .and_then(|(r, end)| Some((entity_char(r.get(..end)?)?, end)));
        match entity {
            Some((c, end)) => {
                out.push(c);
                rest = from_amp.get(end + 2..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = from_amp.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity_char(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        return Some(
            char::from_u32(code)
                .filter(|c| *c != '\0')
                .unwrap_or('\u{FFFD}'),
        );
    }
    let c = match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{A0}',
        "shy" => '\u{AD}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "deg" => '°',
        "plusmn" => '±',
        "times" => '×',
        "divide" => '÷',
        "micro" => 'µ',
        "para" => '¶',
        "middot" => '·',
        "bull" => '•',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "iexcl" => '¡',
        "iquest" => '¿',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "aacute" => 'á',
        "eacute" => 'é',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "Aacute" => 'Á',
        "Eacute" => 'É',
        "Iacute" => 'Í',
        "Oacute" => 'Ó',
        "Uacute" => 'Ú',
        "agrave" => 'à',
        "egrave" => 'è',
        "igrave" => 'ì',
        "ograve" => 'ò',
        "ugrave" => 'ù',
        "Agrave" => 'À',
        "Egrave" => 'È',
        "acirc" => 'â',
        "ecirc" => 'ê',
        "icirc" => 'î',
        "ocirc" => 'ô',
        "ucirc" => 'û',
        "ccedil" => 'ç',
        "Ccedil" => 'Ç',
        "ntilde" => 'ñ',
        "Ntilde" => 'Ñ',
        "atilde" => 'ã',
        "otilde" => 'õ',
        "aring" => 'å',
        "Aring" => 'Å',
        "aelig" => 'æ',
        "AElig" => 'Æ',
        "oslash" => 'ø',
        "Oslash" => 'Ø',
        "euml" => 'ë',
        "iuml" => 'ï',
        "yuml" => 'ÿ',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "ensp" | "emsp" | "thinsp" => ' ',
        _ => return None,
    };
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::tests::parse_ok;

    const HTML_ONLY: &str = "Subject: html\n\
        Content-Type: text/html; charset=utf-8\n\
        \n\
        <html><head><title>T</title><style>p{color:red}</style></head><body>\
        <p onclick=\"steal()\">Hallo&nbsp;Welt &amp; &#252;brige &lt;Leute&gt;</p>\
        <script>alert(1)</script>\
        <div>Zeile<br>zwei</div><ul><li>eins</li><li>zwei</li></ul>\
        <img src=\"https://tracker.example/p.gif\"><img src=\"cid:logo@x\" alt=\"logo\">\
        <a href=\"https://example.com/\">link</a> <a href=\"javascript:evil()\">bad</a>\
        </body></html>\n";

    #[test]
    fn html_only_gets_text_and_sanitised_html() {
        let mail = parse_ok(HTML_ONLY.as_bytes());
        assert_eq!(
            mail.text,
            "Hallo Welt & übrige <Leute>\n\nZeile\nzwei\n\n- eins\n- zwei\n\nlink bad"
        );
        let html = mail.html.unwrap();
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("alert"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("tracker.example"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains("src=\"cid:logo@x\""), "{html}");
        assert!(html.contains("href=\"https://example.com/\""), "{html}");
        assert!(html.contains("Hallo"), "{html}");
    }

    #[test]
    fn html_to_text_cases() {
        assert_eq!(html_to_text("a<br>b<br/>c"), "a\nb\nc");
        assert_eq!(html_to_text("<p>one</p><p>two</p>"), "one\n\ntwo");
        assert_eq!(html_to_text("x  \n\t y"), "x y");
        assert_eq!(html_to_text("<pre>a\n  b</pre>"), "a\n  b");
        assert_eq!(html_to_text("1 < 2 &amp;&amp; 3 > 2"), "1 < 2 && 3 > 2");
        assert_eq!(
            html_to_text("&unknown; &#x41;&#66; &#0;"),
            "&unknown; AB \u{FFFD}"
        );
        assert_eq!(html_to_text("<!-- hidden -->shown<b"), "shown");
        assert_eq!(html_to_text("<a title='a>b'>ok</a>"), "ok");
        assert_eq!(html_to_text("<td>a</td><td>b</td>"), "a b");
        assert_eq!(html_to_text("Grüße<SCRIPT>x</SCRIPT>!"), "Grüße!");
        assert_eq!(html_to_text("<style>never closed"), "");
    }

    #[test]
    fn deeply_nested_html_is_escaped_not_sanitised() {
        let html = format!(
            "{}deep &amp; <b>bold</b>{}",
            "<div>".repeat(300),
            "</div>".repeat(300)
        );
        let raw = format!("Subject: deep\nContent-Type: text/html\n\n{html}\n");
        let mail = parse_ok(raw.as_bytes());
        assert_eq!(mail.text, "deep & bold");
        assert_eq!(mail.html.as_deref(), Some("<pre>deep &amp; bold</pre>"));
        assert!(
            mail.warnings.iter().any(|w| w.contains("nested deeper")),
            "{:?}",
            mail.warnings
        );
    }

    #[test]
    fn html_nesting_depth_cases() {
        assert_eq!(html_nesting_depth("<div><div></div></div>"), 2);
        assert_eq!(html_nesting_depth("<p>a<p>b<p>c<br><img src=x>"), 0);
        assert_eq!(html_nesting_depth("<ul><li>a<li>b</ul>"), 1);
        assert_eq!(html_nesting_depth("<!-- <div><div> --><span/>"), 0);
        assert_eq!(html_nesting_depth(&"<ul><li>".repeat(1000)), 1000);
        assert_eq!(html_nesting_depth("</div></div><b>"), 1);
        assert_eq!(html_nesting_depth("a < b"), 0);
    }

    #[test]
    fn visible_content() {
        assert!(has_visible_content("<p>Hallo</p>"));
        assert!(has_visible_content("<img src=\"cid:logo@docket\">"));
        assert!(!has_visible_content(""));
        assert!(!has_visible_content("\n"));
        assert!(!has_visible_content("<p> &nbsp; </p><br>"));
        assert!(!has_visible_content("<img width=\"1\">"));
        let sanitized = sanitize_html("<script>track()</script><style>p{}</style>\n");
        assert!(!has_visible_content(&sanitized), "{sanitized:?}");
        let tracker = sanitize_html("<img src=\"https://tracker.example/t.gif\">");
        assert!(!has_visible_content(&tracker), "{tracker:?}");
    }

    #[test]
    fn empty_html_copy_is_dropped_with_a_warning() {
        let mail = crate::parse::tests::parse_ok(
            b"Subject: t\nContent-Type: text/html\n\n<script>x</script><style>y</style>\n",
        );
        assert_eq!(mail.html, None);
        assert_eq!(mail.text, "");
        assert!(
            mail.warnings.iter().any(|w| w.contains("HTML")),
            "{:?}",
            mail.warnings
        );
        let mail =
            crate::parse::tests::parse_ok(b"Subject: t\nContent-Type: text/html\n\n<p>hi</p>\n");
        assert!(mail.html.unwrap().starts_with("<p>hi</p>"));
    }
}
