//! Left-right partners of a plugin's classes, for test-time mirroring: a window mirrored along
//! the patient's left-right axis shows the left lung where the right one was, so what the
//! network calls "right pulmonary artery" there is the left pulmonary artery.

/// For each class, the index of its mirror image: the class whose name has the words `left`
/// and `right` exchanged, or the class itself when its name has neither word.
pub fn mirror_partners(names: &[String]) -> Result<Vec<usize>, String> {
    let words: Vec<Vec<&str>> = names.iter().map(|n| n.split_whitespace().collect()).collect();
    words
        .iter()
        .zip(names)
        .map(|(name_words, name)| {
            let swapped: Vec<&str> = name_words
                .iter()
                .map(|&w| match w {
                    "left" => "right",
                    "right" => "left",
                    "Left" => "Right",
                    "Right" => "Left",
                    other => other,
                })
                .collect();
            words.iter().position(|w| *w == swapped).ok_or_else(|| format!("class `{name}` has no mirror class `{}`", swapped.join(" ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn left_and_right_classes_pair_and_others_map_to_themselves() {
        let n = names(&["left pulmonary artery", "left pulmonary vein", "right pulmonary artery", "right pulmonary vein", "heart"]);
        assert_eq!(mirror_partners(&n).unwrap(), vec![2, 3, 0, 1, 4]);
    }

    #[test]
    fn a_side_without_its_partner_is_named() {
        let err = mirror_partners(&names(&["left lung", "heart"])).unwrap_err();
        assert!(err.contains("`left lung`") && err.contains("`right lung`"), "{err}");
    }
}
