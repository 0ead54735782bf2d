//! The page shell every screen shares: language, large-text mode, a skip link, navigation by
//! role, and the footer. Pages are plain HTML that work without JavaScript, at 200% zoom and on
//! a phone.

use crate::i18n::Lang;
use maud::{DOCTYPE, Markup, html};

/// What the shell needs to know about the person looking at it.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The interface language.
    pub lang: Lang,
    /// Large-text (elderly-friendly) mode.
    pub large_text: bool,
    /// The signed-in user's login name and role label, if signed in.
    pub user: Option<(String, String)>,
    /// Navigation entries the user's roles allow: (catalogue key, address).
    pub nav: Vec<(&'static str, &'static str)>,
    /// The CSRF token to embed in forms (the sign-out form here).
    pub csrf: String,
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · " (lang.t("app.name")) }
        link rel="stylesheet" href="/assets/style.css";
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head { (head(lang, title)) }
            body {
                main id="main" class="bare" { (body) }
            }
        }
    }
}

/// A full page for a signed-in user.
pub fn shell(viewer: &Viewer, title: &str, body: Markup) -> Markup {
    let lang = viewer.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) class=[viewer.large_text.then_some("large")] {
            head { (head(lang, title)) }
            body {
                a class="skip" href="#main" { (lang.t("app.skip")) }
                header class="top" {
                    a class="brand" href="/" { (lang.t("app.name")) }
                    nav aria-label=(lang.t("app.name")) {
                        ul {
                            @for (key, href) in &viewer.nav {
                                li { a href=(href) { (lang.t(key)) } }
                            }
                        }
                    }
                    div class="prefs" {
                        a href={"?lang=" (if lang == Lang::Zh { "en" } else { "zh" })} lang=(if lang == Lang::Zh { "en" } else { "zh-CN" }) {
                            (lang.t("app.other_language"))
                        }
                        a href={"?large=" (if viewer.large_text { "0" } else { "1" })} {
                            (if viewer.large_text { lang.t("app.normal_text") } else { lang.t("app.large_text") })
                        }
                        @if let Some((login, role)) = &viewer.user {
                            span class="who" { (lang.t("app.signed_in_as")) " " (login) " (" (role) ")" }
                            form method="post" action="/logout" class="inline" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button type="submit" { (lang.t("app.sign_out")) }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" { (body) }
                footer { p { (lang.t("app.footer")) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_has_language_skip_link_and_escaped_title() {
        let viewer = Viewer {
            lang: Lang::En,
            large_text: true,
            user: Some(("cw1".into(), "caseworker".into())),
            nav: vec![("nav.tasks", "/tasks")],
            csrf: "tok".into(),
        };
        let page = shell(&viewer, "<b>x</b>", html! { p { "body" } }).into_string();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains(r#"<html lang="en" class="large">"#));
        assert!(page.contains(r##"href="#main""##));
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(page.contains(r#"href="/tasks">Tasks</a>"#));
        assert!(page.contains(r#"name="csrf" value="tok""#));
    }
}
