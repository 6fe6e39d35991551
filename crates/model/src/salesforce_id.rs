//! Salesforce record ids: 15 case-sensitive characters, or 18 with a case-safe checksum.
//!
//! The API returns 18-character ids and accepts both forms; every crate that handles
//! Salesforce ids (the SOQL binder, the sandbox, the connector) normalises through here.

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The 3-character checksum that makes a 15-character id case-insensitive.
pub fn checksum(id15: &str) -> Option<String> {
    let bytes = id15.as_bytes();
    if bytes.len() != 15 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let suffix = bytes
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |acc, (j, _)| acc | (1 << j));
            SUFFIX_ALPHABET[bits] as char
        })
        .collect();
    Some(suffix)
}

/// The 18-character form of a 15- or 18-character id, or `None` when it is not an id.
///
/// An 18-character id is read case-insensitively: its suffix restores the case of the first
/// 15 characters, as the platform does. A suffix that cannot be a checksum is refused.
pub fn normalize(id: &str) -> Option<String> {
    match id.len() {
        15 => checksum(id).map(|s| format!("{id}{s}")),
        18 if id.is_ascii() => {
            let (head, suffix) = id.split_at(15);
            let mut fixed = String::with_capacity(18);
            for (chunk_index, chunk) in head.as_bytes().chunks(5).enumerate() {
                let letter = suffix.as_bytes()[chunk_index].to_ascii_uppercase();
                let bits = SUFFIX_ALPHABET.iter().position(|c| *c == letter)?;
                for (j, b) in chunk.iter().enumerate() {
                    if !b.is_ascii_alphanumeric() {
                        return None;
                    }
                    fixed.push(if bits & (1 << j) != 0 {
                        b.to_ascii_uppercase() as char
                    } else {
                        b.to_ascii_lowercase() as char
                    });
                }
            }
            let check = checksum(&fixed)?;
            (check == suffix.to_ascii_uppercase()).then(|| format!("{fixed}{check}"))
        }
        _ => None,
    }
}

/// The 3-character key prefix of an id (`500` for a Case).
pub fn key_prefix(id: &str) -> Option<&str> {
    id.get(..3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_checks_out() {
        assert_eq!(checksum("00570000001ZwTi").as_deref(), Some("AAK"));
        assert_eq!(
            normalize("00570000001ZwTi").as_deref(),
            Some("00570000001ZwTiAAK")
        );
    }

    #[test]
    fn eighteen_character_ids_are_case_insensitive() {
        assert_eq!(
            normalize("00570000001zwtiaak").as_deref(),
            Some("00570000001ZwTiAAK")
        );
        // The suffix decides the case: all-lowercase letters here.
        assert_eq!(
            normalize("00570000001ZwTiAAA").as_deref(),
            Some("00570000001zwtiAAA")
        );
        // A suffix claiming an upper-case digit, or outside the alphabet, is not an id.
        assert_eq!(normalize("00570000001ZwTiBAK"), None);
        assert_eq!(normalize("00570000001ZwTi9AK"), None);
        assert_eq!(normalize("abc"), None);
        assert_eq!(normalize("00570000001ZwT!"), None);
    }
}
