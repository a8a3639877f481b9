//! Prompts from the plugin's template: one sentence per class.

use super::TextError;

/// Placeholder that the class name replaces.
pub const PLACEHOLDER: &str = "{class}";

/// `template` with `{class}` replaced by each class name.
pub fn prompts(template: &str, classes: &[String]) -> Result<Vec<String>, TextError> {
    if !template.contains(PLACEHOLDER) {
        return Err(TextError::Template(template.to_owned()));
    }
    Ok(classes.iter().map(|c| template.replace(PLACEHOLDER, c)).collect())
}
