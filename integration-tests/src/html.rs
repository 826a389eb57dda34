//! A page's HTML read the way a browser reads it: parsed, and asked with CSS selectors, so tests
//! name the element they mean instead of cutting the markup at a string.

use scraper::{ElementRef, Html, Selector};

/// A parsed page.
pub struct Page {
    html: Html,
    source: String,
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css:?}: {e}"))
}

/// An element's text, its whitespace collapsed as a browser shows it.
fn text_of(element: ElementRef<'_>) -> String {
    element
        .text()
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Page {
    pub fn parse(html: &str) -> Self {
        Self {
            html: Html::parse_document(html),
            source: html.to_owned(),
        }
    }

    /// The markup, for failure messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        self.html.select(&selector(css)).count()
    }

    /// Whether some element matches `css`.
    pub fn has(&self, css: &str) -> bool {
        self.count(css) > 0
    }

    /// The text of every element matching `css`, in document order.
    pub fn select_text(&self, css: &str) -> Vec<String> {
        self.html.select(&selector(css)).map(text_of).collect()
    }

    /// Attribute `name` of every element matching `css` that has it, in document order.
    pub fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        self.html
            .select(&selector(css))
            .filter_map(|e| e.value().attr(name).map(str::to_owned))
            .collect()
    }

    /// The value a form would send for the field `name`: an input's `value`, a textarea's text,
    /// a select's selected option (its value, or its text without one). None without the field.
    pub fn form_field(&self, name: &str) -> Option<String> {
        let css = format!(r#"[name="{name}"]"#);
        let field = self.html.select(&selector(&css)).next()?;
        match field.value().name() {
            "textarea" => Some(field.text().collect()),
            "select" => {
                let option = field.select(&selector("option[selected]")).next()?;
                Some(
                    option
                        .value()
                        .attr("value")
                        .map_or_else(|| text_of(option), str::to_owned),
                )
            }
            _ => Some(field.value().attr("value").unwrap_or_default().to_owned()),
        }
    }

    /// The text of the selected option of the select `name`.
    pub fn selected_label(&self, name: &str) -> Option<String> {
        let css = format!(r#"select[name="{name}"] option[selected]"#);
        self.select_text(&css).into_iter().next()
    }

    /// The form token of the page's first form.
    pub fn csrf(&self) -> String {
        self.form_field("csrf")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_text_and_attributes() {
        let page = Page::parse(
            r#"<html lang="de"><body><form><input type="hidden" name="csrf" value="t0k&amp;en">
            <input name="email" value="a@b.example"><textarea name="body">Hi
            there</textarea><select name="company"><option value="1">One</option>
            <option value="2" selected>Fakultät   Physik</option></select>
            <input type="checkbox" name="roles" value="r1" checked></form>
            <table><tr data-queue="q"><td class="num">1</td><td class="num">0</td></tr></table>"#,
        );
        assert_eq!(page.csrf(), "t0k&en");
        assert_eq!(page.form_field("email").as_deref(), Some("a@b.example"));
        assert_eq!(
            page.form_field("body").as_deref(),
            Some("Hi\n            there")
        );
        assert_eq!(page.form_field("company").as_deref(), Some("2"));
        assert_eq!(
            page.selected_label("company").as_deref(),
            Some("Fakultät Physik")
        );
        assert_eq!(page.form_field("missing"), None);
        assert!(page.has(r#"input[name="roles"][value="r1"][checked]"#));
        assert_eq!(page.attrs("html", "lang"), ["de"]);
        assert_eq!(page.select_text(r#"tr[data-queue="q"] td.num"#), ["1", "0"]);
    }
}
