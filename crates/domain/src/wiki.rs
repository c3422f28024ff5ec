//! Wiki articles: how an article is named in its farm (its slug) and what its lists (tags,
//! tools) may hold. The markdown is rendered to safe HTML by the server (`server::markdown`),
//! which holds the HTML parser this crate does without.

use crate::validation::Invalid;

/// The longest slug kept (a slug is a URL segment).
pub const MAX_SLUG: usize = 100;
/// The longest title kept.
pub const MAX_TITLE: usize = 200;
/// The most characters an article's markdown may hold.
pub const MAX_CONTENT: usize = 200_000;
/// The most tags an article may carry.
pub const MAX_TAGS: usize = 30;
/// The longest tag kept.
pub const MAX_TAG: usize = 50;
/// The most tools an article may list.
pub const MAX_TOOLS: usize = 50;
/// The longest tool name kept.
pub const MAX_TOOL: usize = 200;
/// The slug of an article whose title has no letter or digit to make one from.
pub const FALLBACK_SLUG: &str = "article";

/// Slugs that name a route beside `/wiki/{id or slug}` (`/wiki/categories`): an article
/// holding one could never be found by it.
pub const RESERVED_SLUGS: &[&str] = &["categories"];

/// The slug a title gives: lower-case ASCII letters and digits, every other run of
/// characters one `-`, at most [`MAX_SLUG`] long ("Bed Levelling: P1S" → `bed-levelling-p1s`).
pub fn slug_from_title(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        // Accented letters lose their accent where that is one ASCII letter; others split.
        let c = fold_accent(c);
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= MAX_SLUG {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        FALLBACK_SLUG.to_string()
    } else {
        slug.to_string()
    }
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        other => other,
    }
}

/// A slug a client chose: trimmed and lower-cased, then only `a-z`, `0-9` and single `-`
/// between them, 1 to [`MAX_SLUG`] characters. It is not rewritten beyond the case: a slug
/// that someone typed is what links use, so a wrong one is refused rather than changed.
pub fn parse_slug(field: &str, raw: &str) -> Result<String, Invalid> {
    let slug = raw.trim().to_ascii_lowercase();
    let bad = |message: String| Err(Invalid::field(field, message));
    if slug.is_empty() {
        return bad(format!("{field} must not be empty"));
    }
    if slug.len() > MAX_SLUG {
        return bad(format!("{field} must be at most {MAX_SLUG} characters"));
    }
    let shaped = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if !shaped {
        return bad(format!(
            "{field} may hold only letters a-z, digits and single hyphens between them"
        ));
    }
    if RESERVED_SLUGS.contains(&slug.as_str()) {
        return bad(format!(
            "{field} '{slug}' names a page of the wiki; choose another"
        ));
    }
    Ok(slug)
}

/// The first of `base`, `base-2`, `base-3`, … that `taken` does not hold: a slug derived
/// from a title never clashes (a slug the client chose does: 409).
pub fn free_slug(base: &str, taken: &[String]) -> String {
    let is_free = |slug: &str| !taken.iter().any(|t| t == slug) && !RESERVED_SLUGS.contains(&slug);
    if is_free(base) {
        return base.to_string();
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            // The suffix stays whole within the slug's length.
            let keep = base.len().min(MAX_SLUG.saturating_sub(suffix.len()));
            let stem = base.get(..keep).unwrap_or(base);
            format!("{}{suffix}", stem.trim_end_matches('-'))
        })
        .find(|candidate| is_free(candidate))
        .unwrap_or_else(|| base.to_string())
}

/// A list of short texts (tags, tools): each trimmed, empty ones dropped, duplicates
/// (ignoring case) kept once, at most `max_items` of at most `max_len` characters.
pub fn parse_list(
    field: &str,
    items: &[String],
    max_items: usize,
    max_len: usize,
) -> Result<Vec<String>, Invalid> {
    let mut kept: Vec<String> = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if item.chars().count() > max_len || item.chars().any(char::is_control) {
            return Err(Invalid::field(
                field,
                format!(
                    "each of {field} must be at most {max_len} characters, without control characters"
                ),
            ));
        }
        if !kept.iter().any(|k| k.eq_ignore_ascii_case(item)) {
            kept.push(item.to_string());
        }
    }
    if kept.len() > max_items {
        return Err(Invalid::field(
            field,
            format!("{field} may hold at most {max_items} entries"),
        ));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_gives_a_lower_case_hyphenated_slug() {
        assert_eq!(
            slug_from_title("Bed Levelling: P1S & X1C"),
            "bed-levelling-p1s-x1c"
        );
        assert_eq!(slug_from_title("  --Hello--World--  "), "hello-world");
        assert_eq!(slug_from_title("Crème brûlée stand"), "creme-brulee-stand");
    }

    #[test]
    fn a_title_without_letters_or_digits_gives_the_fallback_slug() {
        assert_eq!(slug_from_title("!!! ???"), FALLBACK_SLUG);
        assert_eq!(slug_from_title("日本語"), FALLBACK_SLUG);
    }

    #[test]
    fn a_slug_from_a_long_title_is_cut_to_the_limit_without_a_trailing_hyphen() {
        let slug = slug_from_title(&"ab ".repeat(200));
        assert!(slug.len() <= MAX_SLUG);
        assert!(!slug.ends_with('-'));
    }

    #[test]
    fn a_chosen_slug_is_lower_cased_but_otherwise_taken_as_written() {
        assert_eq!(parse_slug("slug", " Nozzle-Swap ").unwrap(), "nozzle-swap");
        for bad in ["", "a b", "-a", "a-", "a--b", "a/b", "é", "../x", "a_b"] {
            assert!(parse_slug("slug", bad).is_err(), "{bad:?} is refused");
        }
        assert!(parse_slug("slug", &"a".repeat(MAX_SLUG + 1)).is_err());
    }

    #[test]
    fn a_slug_that_names_a_wiki_page_is_refused_or_stepped_around() {
        assert!(parse_slug("slug", "Categories").is_err());
        assert_eq!(free_slug("categories", &[]), "categories-2");
    }

    #[test]
    fn a_derived_slug_that_is_taken_gets_the_next_free_number() {
        let taken = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(free_slug("guide", &taken(&[])), "guide");
        assert_eq!(free_slug("guide", &taken(&["guide"])), "guide-2");
        assert_eq!(
            free_slug("guide", &taken(&["guide", "guide-2", "guide-3"])),
            "guide-4"
        );
        assert_eq!(
            free_slug("guide", &taken(&["guide-2"])),
            "guide",
            "a gap is not filled"
        );
        let long = "a".repeat(MAX_SLUG);
        let next = free_slug(&long, &taken(&[long.as_str()]));
        assert!(next.len() <= MAX_SLUG && next.ends_with("-2"), "{next}");
    }

    #[test]
    fn lists_drop_blanks_and_repeats_and_refuse_too_many_or_too_long() {
        let items = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_list("tags", &items(&[" PLA ", "", "pla", "Bambu"]), 5, 10).unwrap(),
            ["PLA", "Bambu"]
        );
        assert!(parse_list("tags", &items(&["a", "b", "c"]), 2, 10).is_err());
        assert!(parse_list("tags", &items(&["abcdefghijk"]), 5, 10).is_err());
        assert!(parse_list("tags", &items(&["a\u{0}b"]), 5, 10).is_err());
    }
}
