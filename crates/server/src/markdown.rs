//! Markdown to safe HTML, for wiki articles: the one place where what a member wrote
//! becomes markup that every member's browser runs.
//!
//! pulldown-cmark writes the HTML (raw HTML in the markdown passes through it), then
//! ammonia rebuilds the document from a whitelist: tags, attributes and URL schemes not
//! on it are dropped, whatever their case or entity encoding, because it parses the HTML
//! as a browser does before it decides.

use std::collections::HashSet;
use std::sync::LazyLock;

/// The URL schemes a link or image may use. No `javascript:`, and no `data:` either (not
/// even for images: the farm's pictures are uploaded and linked by a relative URL).
/// Relative URLs (`/api/v1/files/wiki-image/...`, `#step-2`) are kept.
const SCHEMES: &[&str] = &["http", "https", "mailto"];

static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(SCHEMES.iter().copied().collect::<HashSet<_>>())
        // A link out of the farm's wiki doesn't get a handle on the page (window.opener),
        // nor is it credited by search engines.
        .link_rel(Some("noopener noreferrer nofollow"))
        // Fenced code keeps its language for a highlighter; nothing else keeps a class.
        .add_allowed_classes("code", LANGUAGE_CLASSES);
    builder
});

/// The languages a fenced code block may name and keep as its class.
const LANGUAGE_CLASSES: &[&str] = &[
    "language-gcode",
    "language-json",
    "language-yaml",
    "language-toml",
    "language-bash",
    "language-sh",
    "language-python",
    "language-text",
];

/// An article's markdown as HTML that is safe to put in a page: no script, no event
/// attributes, no style, no frames or SVG, links and images only to http(s), mailto or
/// relative URLs.
pub fn render(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    SANITISER.clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    /// No executable markup survives in `html`, whatever case it was written in.
    fn assert_inert(html: &str) {
        let lower = html.to_ascii_lowercase();
        for banned in [
            "<script",
            "javascript:",
            "vbscript:",
            "data:",
            "onerror",
            "onload",
            "onclick",
            "onmouseover",
            "<iframe",
            "<svg",
            "<style",
            "style=",
            "<object",
            "<embed",
            "<form",
            "<input",
            "<meta",
            "<link",
            "<base",
        ] {
            assert!(!lower.contains(banned), "{banned} left in {html}");
        }
    }

    #[test]
    fn markdown_renders_to_html() {
        let html = render(
            "# Nozzle swap\n\n1. Heat to **220 °C**\n2. Unscrew\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~",
        );
        assert!(html.contains("<h1>Nozzle swap</h1>"), "{html}");
        assert!(html.contains("<strong>220 °C</strong>"), "{html}");
        assert!(html.contains("<ol>"), "{html}");
        assert!(
            html.contains("<table>") && html.contains("<td>1</td>"),
            "{html}"
        );
        assert!(html.contains("<del>old</del>"), "{html}");
    }

    #[test]
    fn script_tags_are_removed_with_their_text() {
        let html = render(
            "before <script>alert(1)</script> after\n\n<script src=\"https://evil.example/x.js\"></script>",
        );
        assert_inert(&html);
        assert!(!html.contains("alert(1)"), "{html}");
        assert!(html.contains("before") && html.contains("after"), "{html}");
    }

    #[test]
    fn event_attributes_are_removed_and_the_image_kept() {
        let html = render(
            "<img src=x onerror=alert(1)> <IMG SRC=\"/a.png\" OnLoad=\"alert(2)\"> <b onmouseover=alert(3)>b</b>",
        );
        assert_inert(&html);
        assert!(html.contains("<img src=\"x\">"), "{html}");
        assert!(html.contains("<b>b</b>"), "{html}");
    }

    #[test]
    fn javascript_links_lose_their_target_in_markdown_and_html_in_any_case() {
        for hostile in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<a href=\"  javascript:alert(1)\">x</a>",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "<a href=\"vbscript:msgbox(1)\">x</a>",
            "[x](<javascript:alert(1)>)",
            "<javascript:alert(1)>",
            "![x](javascript:alert(1))",
        ] {
            let html = render(hostile).to_ascii_lowercase();
            // The autolink's text may still read "javascript:…": text runs nothing.
            assert!(
                !html.contains("href=") && !html.contains("src="),
                "{hostile} gave {html}"
            );
        }
    }

    #[test]
    fn entity_encoded_schemes_are_decoded_before_they_are_judged() {
        for hostile in [
            "[x](&#106;avascript:alert(1))",
            "[x](&#x6A;&#x61;vascript:alert(1))",
            "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
            "<a href=\"javascript&colon;alert(1)\">x</a>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<img src=\"&#100;ata:image/svg+xml,<svg onload=alert(1)>\">",
        ] {
            let html = render(hostile);
            assert_inert(&html);
            assert!(!html.contains("alert"), "{hostile} gave {html}");
        }
    }

    #[test]
    fn data_urls_are_refused_for_links_and_images() {
        for hostile in [
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "![x](data:image/png;base64,iVBORw0KGgo=)",
            "<a href=\"DATA:text/html,<script>alert(1)</script>\">x</a>",
        ] {
            assert_inert(&render(hostile));
        }
    }

    #[test]
    fn svg_iframe_style_object_and_form_are_removed() {
        let html = render(
            "<svg><script>alert(1)</script><circle onload=alert(2)/></svg>\n\
             <iframe src=\"https://evil.example\"></iframe>\n\
             <style>body{display:none}</style>\n\
             <p style=\"background:url(javascript:alert(3))\">styled</p>\n\
             <object data=\"x.swf\"></object><embed src=\"x.swf\">\n\
             <form action=\"https://evil.example\"><input name=p></form>\n\
             <math><mtext><script>alert(4)</script></mtext></math>\n\
             <meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
        );
        assert_inert(&html);
        assert!(!html.contains("alert"), "{html}");
        assert!(!html.contains("display:none"), "{html}");
        assert!(html.contains("styled"), "{html}");
    }

    #[test]
    fn html_inside_code_is_shown_as_text() {
        let html = render("`<script>alert(1)</script>`\n\n```\n<img src=x onerror=alert(2)>\n```");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
    }

    /// The tags of sanitised HTML, each from `<` to its `>` outside quotes (a `<` in text
    /// is always written `&lt;`, so every `<` opens a tag).
    fn tags(html: &str) -> Vec<String> {
        let mut tags = Vec::new();
        let mut current: Option<String> = None;
        let mut quote: Option<char> = None;
        for c in html.chars() {
            match (&mut current, quote, c) {
                (None, _, '<') => current = Some(String::new()),
                (None, _, _) => {}
                (Some(tag), Some(q), c) if c == q => {
                    tag.push(c);
                    quote = None;
                }
                (Some(tag), None, '"' | '\'') => {
                    tag.push(c);
                    quote = Some(c);
                }
                (Some(_), None, '>') => tags.extend(current.take()),
                (Some(tag), _, c) => tag.push(c),
            }
        }
        tags
    }

    #[test]
    fn broken_markup_cannot_reopen_an_attribute_or_a_tag() {
        for hostile in [
            "<a href=\"/ok\" title=\"x\" \" onclick=\"alert(1)\">x</a>",
            "<img src=\"/a.png\"/onerror=alert(1)>",
            "<<script>script>alert(1)<</script>/script>",
            "<img \"\"\"><script>alert(1)</script>\">",
            "<a title='x\" onclick=\"alert(1)'>x</a>",
            "[x](/ok\" onclick=\"alert(1))",
        ] {
            let html = render(hostile);
            for tag in tags(&html) {
                let tag = tag.to_ascii_lowercase();
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                assert!(
                    ["a", "img", "p"].contains(&name),
                    "{hostile} gave the tag <{tag}> in {html}"
                );
                // Outside quoted values, no attribute is an event handler.
                let unquoted: String = tag.split('"').step_by(2).collect();
                assert!(
                    !unquoted
                        .split_whitespace()
                        .any(|attr| attr.starts_with("on")),
                    "{hostile} gave the tag <{tag}> in {html}"
                );
            }
        }
    }

    #[test]
    fn links_to_the_web_and_relative_images_are_kept_and_links_get_noopener() {
        let html = render(
            "[Bambu](https://wiki.bambulab.com/en/p1) ![step](/api/v1/files/wiki-image/f/a.png) [top](#top) [mail](mailto:ops@example.com)",
        );
        assert!(
            html.contains("href=\"https://wiki.bambulab.com/en/p1\""),
            "{html}"
        );
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
        assert!(
            html.contains("src=\"/api/v1/files/wiki-image/f/a.png\""),
            "{html}"
        );
        assert!(html.contains("href=\"#top\""), "{html}");
        assert!(html.contains("href=\"mailto:ops@example.com\""), "{html}");
    }

    #[test]
    fn a_fenced_block_keeps_only_a_known_language_class() {
        let html = render("```gcode\nG28\n```\n\n```evil\" onclick=\"x\nG1\n```");
        assert!(html.contains("class=\"language-gcode\""), "{html}");
        assert!(!html.contains("language-evil"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
    }
}
